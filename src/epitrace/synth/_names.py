"""Built-in word lists: personal names by culture, streets, and place-name parts.

Names come from ten naming cultures so that the line list looks like a mixed
European city: diacritics, particles ("de", "van den", "El"), short Chinese names
and long Polish ones all reach the duplicate-detection code. Within a culture the
lists are roughly in order of popularity; the sampler favours the front, so some
combinations repeat and name + date of birth is nearly, but not quite, unique.
"""

from __future__ import annotations

from typing import NamedTuple


class NamingCulture(NamedTuple):
    """The given and family names of one naming culture and its share of households."""

    name: str
    share: float
    female: tuple[str, ...]
    male: tuple[str, ...]
    family: tuple[str, ...]


def _split(names: str) -> tuple[str, ...]:
    """Split a '|'-separated list; '|' rather than spaces because some names have spaces."""
    return tuple(part.strip() for part in names.split("|"))


CULTURES: tuple[NamingCulture, ...] = (
    NamingCulture(
        "dutch",
        0.40,
        _split(
            "Emma|Julia|Sophie|Anna|Lotte|Sanne|Eva|Fleur|Lisa|Iris|Noor|Femke|Anouk|Maud|"
            "Tess|Esther|Ingrid|Marieke|Willemijn|Saskia"
        ),
        _split(
            "Daan|Sem|Lucas|Bram|Thijs|Jesse|Ruben|Jeroen|Pieter|Willem|Niels|Koen|Joost|"
            "Maarten|Stijn|Bas|Sven|Hendrik|Gijs|Wouter"
        ),
        _split(
            "de Jong|Jansen|de Vries|van den Berg|van Dijk|Bakker|Janssen|Visser|Smit|Meijer|"
            "de Boer|Mulder|de Groot|Bos|Vos|Peters|Hendriks|van Leeuwen|Dekker|Brouwer|"
            "de Wit|Dijkstra"
        ),
    ),
    NamingCulture(
        "english",
        0.07,
        _split(
            "Olivia|Amelia|Isla|Ava|Emily|Grace|Charlotte|Jessica|Hannah|Sarah|Lucy|Chloe|"
            "Megan|Rachel|Laura|Holly|Abigail|Victoria|Eleanor|Harriet"
        ),
        _split(
            "Oliver|George|Harry|Jack|Jacob|Charlie|Thomas|James|William|Daniel|Samuel|"
            "Joseph|Henry|Alfie|Oscar|Edward|Matthew|Benjamin|Luke|Robert"
        ),
        _split(
            "Smith|Jones|Taylor|Brown|Williams|Wilson|Johnson|Davies|Robinson|Wright|"
            "Thompson|Evans|Walker|White|Roberts|Green|Hall|Wood|Jackson|Clarke|Hughes|Turner"
        ),
    ),
    NamingCulture(
        "turkish",
        0.08,
        _split(
            "Elif|Zeynep|Ayşe|Fatma|Emine|Hatice|Merve|Büşra|Esra|Selin|Derya|Gül|Yasemin|"
            "Ebru|Aylin|Özlem|Sibel|Tuba|Nur|Melek"
        ),
        _split(
            "Mehmet|Mustafa|Ahmet|Ali|Hüseyin|Hasan|İbrahim|Murat|Emre|Burak|Can|Kemal|"
            "Yusuf|Ömer|Serkan|Volkan|Okan|Cem|Baran|Kerem"
        ),
        _split(
            "Yılmaz|Kaya|Demir|Şahin|Çelik|Yıldız|Yıldırım|Öztürk|Aydın|Özdemir|Arslan|"
            "Doğan|Kılıç|Aslan|Çetin|Kara|Koç|Kurt|Özkan|Şimşek|Polat|Korkmaz"
        ),
    ),
    NamingCulture(
        "maghrebi",
        0.09,
        _split(
            "Fatima|Khadija|Amina|Nadia|Yasmina|Salma|Meryem|Hanane|Samira|Imane|Soukaina|"
            "Layla|Zineb|Houda|Naima|Rania|Sara|Malika|Latifa|Ikram"
        ),
        _split(
            "Mohamed|Ahmed|Youssef|Omar|Said|Rachid|Karim|Hamza|Bilal|Mounir|Khalid|Hicham|"
            "Anas|Mehdi|Nabil|Adil|Ismail|Zakaria|Tarik|Ayoub"
        ),
        _split(
            "El Amrani|Benali|Bouzid|El Idrissi|Boukhari|Ouali|Haddad|Tahiri|Chakir|El Fassi|"
            "Ziani|Amrani|Bennani|Alaoui|Berrada|Lahlou|Belhaj|Mansouri|Naciri|Kadiri|Sabri|Saidi"
        ),
    ),
    NamingCulture(
        "hindustani",
        0.06,
        _split(
            "Priya|Anjali|Sunita|Kavita|Pooja|Neha|Shanti|Radha|Asha|Meera|Divya|Lakshmi|"
            "Sita|Nisha|Rekha|Geeta|Aarti|Deepa|Indira|Savitri"
        ),
        _split(
            "Rahul|Amit|Raj|Sanjay|Vijay|Arjun|Ravi|Suresh|Anil|Deepak|Rohan|Vikram|Manoj|"
            "Krishna|Ashok|Kiran|Naveen|Prakash|Sunil|Harish"
        ),
        _split(
            "Sharma|Patel|Singh|Kumar|Gupta|Mahabier|Ramdin|Jagessar|Soekhoe|Biharie|Ramlal|"
            "Sewdien|Bhagwandin|Mohan|Rampersad|Persaud|Chandra|Das|Rao|Mishra|Joshi|Verma"
        ),
    ),
    NamingCulture(
        "polish",
        0.06,
        _split(
            "Anna|Maria|Katarzyna|Małgorzata|Agnieszka|Barbara|Ewa|Krystyna|Magdalena|"
            "Joanna|Zofia|Aleksandra|Natalia|Monika|Dorota|Beata|Justyna|Karolina|Paulina|"
            "Weronika"
        ),
        _split(
            "Piotr|Krzysztof|Andrzej|Tomasz|Paweł|Jan|Michał|Marcin|Marek|Grzegorz|Łukasz|"
            "Adam|Jakub|Mateusz|Wojciech|Kamil|Szymon|Dariusz|Rafał|Bartosz"
        ),
        _split(
            "Nowak|Kowalski|Wiśniewski|Wójcik|Kowalczyk|Kamiński|Lewandowski|Zieliński|"
            "Szymański|Woźniak|Dąbrowski|Kozłowski|Jankowski|Mazur|Kwiatkowski|Krawczyk|"
            "Piotrowski|Grabowski|Nowakowski|Pawłowski|Michalski|Zając"
        ),
    ),
    NamingCulture(
        "chinese",
        0.05,
        _split(
            "Mei|Ling|Xiu|Yan|Jing|Hui|Fang|Xia|Lan|Yun|Hua|Qing|Juan|Min|Ying|Wen|Li|Na|Jie|Xin"
        ),
        _split(
            "Wei|Jun|Hao|Lei|Ming|Jian|Tao|Qiang|Bo|Chen|Gang|Feng|Yong|Peng|Long|Bin|Kai|"
            "Zhen|Yi|Cheng"
        ),
        _split(
            "Wang|Li|Zhang|Liu|Chen|Yang|Huang|Zhao|Wu|Zhou|Xu|Sun|Ma|Zhu|Hu|Guo|He|Lin|Gao|"
            "Luo|Zheng|Liang"
        ),
    ),
    NamingCulture(
        "hispanic",
        0.07,
        _split(
            "María|Carmen|Lucía|Sofía|Isabel|Ana|Laura|Paula|Elena|Marta|Cristina|Rosa|Pilar|"
            "Dolores|Alba|Valentina|Camila|Daniela|Gabriela|Julia"
        ),
        _split(
            "José|Antonio|Manuel|Francisco|David|Juan|Javier|Carlos|Miguel|Pablo|Alejandro|"
            "Diego|Sergio|Jorge|Alberto|Luis|Andrés|Fernando|Raúl|Mateo"
        ),
        _split(
            "García|Fernández|González|Rodríguez|López|Martínez|Sánchez|Pérez|Gómez|Martín|"
            "Jiménez|Ruiz|Hernández|Díaz|Moreno|Muñoz|Álvarez|Romero|Alonso|Gutiérrez|"
            "Navarro|Torres"
        ),
    ),
    NamingCulture(
        "west_african",
        0.06,
        _split(
            "Ama|Akosua|Abena|Adwoa|Efua|Yaa|Afia|Esi|Adjoa|Akua|Ngozi|Chiamaka|Adaeze|"
            "Funmilayo|Aisha|Fatou|Aminata|Mariama|Awa|Kadiatou"
        ),
        _split(
            "Kwame|Kofi|Kwabena|Kwaku|Yaw|Kojo|Kwesi|Chinedu|Emeka|Obinna|Oluwaseun|Tunde|"
            "Ibrahima|Mamadou|Moussa|Ousmane|Abdoulaye|Sekou|Lamine|Babacar"
        ),
        _split(
            "Mensah|Asante|Owusu|Boateng|Osei|Appiah|Adjei|Addo|Danso|Agyeman|Okafor|Okeke|"
            "Adeyemi|Balogun|Diallo|Traoré|Camara|Keita|Sow|Ndiaye|Diop|Bah"
        ),
    ),
    NamingCulture(
        "indonesian",
        0.06,
        _split(
            "Siti|Dewi|Sri|Putri|Ayu|Ratna|Wati|Indah|Rina|Fitri|Lestari|Kartika|Maya|Nurul|"
            "Intan|Wulan|Yuliana|Sari|Melati|Anggun"
        ),
        _split(
            "Budi|Agus|Joko|Bambang|Hendra|Rudi|Dedi|Eko|Andi|Bayu|Dimas|Rizky|Fajar|Adi|"
            "Wahyu|Arief|Yudi|Teguh|Gilang|Iwan"
        ),
        _split(
            "Santoso|Wijaya|Kusuma|Halim|Gunawan|Setiawan|Hidayat|Susanto|Tanoto|Sutanto|"
            "Hartono|Pranoto|Saputra|Nugroho|Siregar|Simanjuntak|Lubis|Nasution|Harahap|"
            "Wibowo|Purnomo|Salim"
        ),
    ),
)

STREETS: tuple[str, ...] = _split(
    "Keizerstraat|Lindengracht|Molenweg|Kerkstraat|Havenkade|Bloemstraat|Parklaan|"
    "Stationsweg|Prinsengracht|Vondelstraat|Dorpsstraat|Schoolstraat|Nieuwe Weg|Beukenlaan|"
    "Eikenlaan|Tulpstraat|Rozenstraat|Sluisweg|Dijkstraat|Marktplein|Zeilmakersstraat|"
    "Touwslagerslaan|Brouwersgracht|Oranjestraat|Wilhelminastraat|Julianalaan|Spuistraat|"
    "Rembrandtlaan|Van Goghstraat|Hoogstraat|Veldweg|Zonnebloemstraat|Merelstraat|"
    "Kastanjelaan|Watermolenweg|Singel|Overtoom|Baanstraat|Admiraalweg|Lijnbaansgracht"
)

DISTRICT_NAMES: tuple[str, ...] = _split(
    "Oldtown|Northbank|Eastport|Southfield|Westerpark|Riverside|Harbourside|Parkview|"
    "Millbrook|Greenhill|Lakeside|Stonebridge|Canal Quarter|Brickfields|Tulip Gardens|Dunehaven"
)

VENUE_ADJECTIVES: tuple[str, ...] = _split(
    "Blue|Golden|Red|Green|Silver|Little|Old|Happy|Corner|Sunny|Copper|Crooked|Velvet|Royal|"
    "Lucky|Quiet|Iron|Wild|Humble|Bright"
)
VENUE_NOUNS: tuple[str, ...] = _split(
    "Door|Fork|Lantern|Leaf|Anchor|Tulip|Bicycle|Canal|Windmill|Owl|Fox|Bridge|Kettle|Bell|"
    "Harbour|Garden|Barrel|Crown|Feather|Spoon"
)

WORKPLACE_TRADES: tuple[str, ...] = _split(
    "Logistics|Consulting|Software|Accountants|Architects|Dental Practice|Printing Works|"
    "Engineering|Insurance|Law Office|Design Studio|Construction|Transport|Clinic|Warehouse|"
    "Bank Branch|Marketing|Garage|Laboratory|Publishing|Electronics|Catering|"
    "Cleaning Services|Security|Recruitment|Call Centre|Hotel|Pharma|Textiles|Nursing Home"
)

SCHOOL_NAMES: tuple[str, ...] = _split(
    "Vondel|Rembrandt|Spinoza|Montessori|Da Vinci|Erasmus|Curie|Mandela|Oak Tree|Willow|"
    "Rainbow|Compass|Horizon|Beacon|Lighthouse|Mosaic|Kingfisher|Windrose|Het Anker|De Regenboog"
)
