// The private self-check page: fetch the public feed, verify every batch (SHA-256 chain, Ed25519
// signature with the authority's key), then read the resident's trail and match it in the page. The
// trail is read by trail_read.js and matched by match.js, the same rules as `epitrace check`
// (issue 9); nothing about it is sent anywhere. A file that cannot be read, or that holds nothing to
// check, is an error in words: it is never reported as "No exposure found".

import {pyFixed0} from "./pytext.js";
import {MIN_OVERLAP_S, match} from "./match.js";
import {FORMAT_NAMES, readTrail} from "./trail_read.js";
import {STAY_DEFAULTS} from "./trail_stays.js";
import {TrailError} from "./trail_values.js";

export const READS = "This page reads: Google Takeout Records.json (or Location History.json); Semantic Location " +
  "History month files (such as 2024_MARCH.json); Google Maps Timeline exports from the phone (Timeline.json on " +
  "Android, location-history.json on iOS); GPX tracks and timed waypoints; GeoJSON points and lines with times; and " +
  "CSV with lat,lon,time or lat,lon,start,end columns (latitude, longitude, lng, long, timestamp, datetime, " +
  "start_time and end_time are understood too), separated by commas, semicolons or tabs.";

const $ = (id) => document.getElementById(id);
const page = $("selfcheck");
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const hhmm = (s) => new Date(s * 1000).toISOString().slice(11, 16);
const day = (s) => new Date(s * 1000).toISOString().slice(0, 10);
const when = (s) => new Date(s * 1000).toISOString().slice(0, 16).replace("T", " ");

async function sha256hex(data) {
  const digest = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The verified feed: {windows (current ones), advice (the last batch's), batches}. */
async function loadFeed() {
  const doc = await (await fetch("/feed/", {credentials: "omit"})).json();
  const key = await crypto.subtle.importKey("raw", bytes(page.dataset.publicKey), {name: "Ed25519"}, false, ["verify"]);
  let previous = doc.starts_after, windows = [], advice = "";
  for (const batch of doc.batches) {
    const data = new TextEncoder().encode(batch.payload_text);
    if (await sha256hex(data) !== batch.hash) throw new Error(`batch ${batch.version}: content does not match its hash`);
    if (batch.previous !== previous) throw new Error(`batch ${batch.version}: the chain is broken`);
    if (!await crypto.subtle.verify({name: "Ed25519"}, key, bytes(batch.signature), data)) {
      throw new Error(`batch ${batch.version}: bad signature`);
    }
    previous = batch.hash;
    const payload = JSON.parse(batch.payload_text);
    advice = payload.advice || "";  // as `epitrace check`: the advice of the last batch
    windows = windows.concat((payload.windows || []).filter((w) => w.expires_on >= page.dataset.today));
  }
  $("status").textContent = `The feed verifies: ${doc.batches.length} signed batch(es), ${windows.length} current ` +
    "window(s). Choose your file.";
  return {windows, advice};
}

/** The finding in the words of `epitrace check` (epitrace.selfcheck.describe). */
function findingText(f, advice) {
  const minutes = Math.floor(f.overlapS / 60);
  return `Exposure at ${f.window.label} on ${day(f.window.start)}, ${hhmm(f.window.start)}-${hhmm(f.window.end)} UTC ` +
    `(${minutes} minutes of overlap). Why it counts: someone who later tested positive was there then; your location ` +
    `history puts you within ${pyFixed0(f.minDistanceM)} m of it from ${hhmm(f.firstStart)} to ${hhmm(f.lastEnd)} UTC: ` +
    `${minutes} minutes inside the window, at least the ${MIN_OVERLAP_S / 60} minutes that count. What to do: ${advice}`;
}

function paragraph(text, testid, className = "") {
  const p = document.createElement("p");
  p.textContent = text;
  p.dataset.testid = testid;
  if (className) p.className = className;
  return p;
}

function nothingToCheck(name, trail) {
  if (trail.points === 0 && trail.visits === 0) {
    return `${name} holds no location points or visits, so there is nothing to check it against: export your ` +
      "location history for the days you want to check, then choose that file";
  }
  const {distanceM, minStayS, maxGapS} = STAY_DEFAULTS;
  return `the ${trail.points} location point(s) in ${name} make no stay of ${minStayS / 60} minutes or more within ` +
    `${distanceM} m (with points at most ${maxGapS / 3600} hours apart), so there is nothing to check: export a ` +
    "history that covers the days you want to check, with its visits or a point every few minutes";
}

/** Read and match one file, and show the outcome; every failure is shown as an error, never as an all-clear. */
async function check(file, feedReady) {
  const out = $("results");
  const parts = [];
  try {
    const feed = await feedReady;
    const trail = readTrail(new Uint8Array(await file.arrayBuffer()), file.name);
    out.dataset.format = trail.format;
    out.dataset.stays = String(trail.presences.length);
    if (trail.presences.length === 0) throw new TrailError(nothingToCheck(file.name, trail));
    const first = trail.presences[0].start, last = trail.presences.reduce((m, p) => Math.max(m, p.end), -Infinity);
    parts.push(paragraph(`Read ${trail.presences.length} stay(s) from ${file.name} (${FORMAT_NAMES[trail.format]}), ` +
      `from ${when(first)} to ${when(last)} UTC, and matched them in this page; nothing was sent anywhere.`, "summary", "note"));
    const findings = match(trail.presences, feed.windows);
    for (const f of findings) {
      const p = paragraph(findingText(f, feed.advice), "finding", "error");
      Object.assign(p.dataset, {window: f.window.id, overlapS: String(f.overlapS)});
      parts.push(p);
    }
    if (!findings.length) {
      parts.push(paragraph(`No exposure found: your history does not overlap any of the ${feed.windows.length} ` +
        "published window(s).", "all-clear"));
    }
  } catch (error) {
    const why = error instanceof TrailError ? error.message
      : error && error.feed ? error.message
      : `the page failed while reading it (${error}); run \`epitrace check\` on your computer instead`;
    parts.push(paragraph(`Could not check ${file.name}: ${why}`, "trail-error", "error"));
    parts.push(paragraph(READS, "formats", "note"));
  }
  out.replaceChildren(...parts);
  out.dataset.file = file.name;
}

const feedReady = loadFeed().catch((error) => {
  $("status").textContent = `The feed could not be verified, so it is not used: ${error.message}`;
  const failed = new Error(`the public feed could not be verified (${error.message}), so there is nothing to check against; reload the page later`);
  failed.feed = true;
  throw failed;
});
feedReady.catch(() => {});  // shown in the status line; each file chosen is told again

$("trail").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (!file) return;
  delete $("results").dataset.file;
  delete $("results").dataset.stays;
  delete $("results").dataset.format;
  check(file, feedReady);
});
