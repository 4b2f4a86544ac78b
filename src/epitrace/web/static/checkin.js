// The venue check-in page (templates/checkin.html): the venue code is in the URL fragment, never sent to
// the server, and the visits stay in this browser's localStorage. A static file, not an inline script, so
// the page's policy needs no 'unsafe-inline' (issue 10).
"use strict";
const PREFIX = "https://e.coronawarn.app?v=1#", STORE = "epitrace-checkins";
const $ = (id) => document.getElementById(id);
const load = () => JSON.parse(localStorage.getItem(STORE) || "[]");
const save = (items) => localStorage.setItem(STORE, JSON.stringify(items));
const payload = location.hash.slice(1);
const now = () => Math.floor(Date.now() / 1000);
const when = (s) => new Date(s * 1000).toLocaleString();
function render() {
  $("list").replaceChildren(...load().map((c) => {
    const li = document.createElement("li");
    li.textContent = `${when(c.arrival)} to ${c.departure ? when(c.departure) : "now"} (venue code …${c.qr_url.slice(-8)})`;
    return li;
  }));
}
$("venue").textContent = payload ? "Venue code …" + payload.slice(-8) : "Scan a venue's poster to check in.";
$("checkin").disabled = !payload;
$("checkin").addEventListener("click", () => {
  const items = load();
  items.push({qr_url: PREFIX + payload, arrival: now(), departure: null});
  save(items); render();
});
$("leave").addEventListener("click", () => {
  const items = load();
  const open = items.filter((c) => c.departure === null).pop();
  if (open) { open.departure = Math.max(now(), open.arrival + 60); save(items); render(); }
});
$("download").addEventListener("click", () => {
  // A stay without a departure counts as two hours (a typical visit).
  const items = load().map((c) => ({...c, departure: c.departure ?? c.arrival + 7200}));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([JSON.stringify(items)], {type: "application/json"}));
  link.download = "my-checkins.json";
  link.click();
});
render();
