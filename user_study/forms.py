"""Participant-facing forms: a self-contained static HTML form and a questions CSV for form services.

The HTML form (:func:`write_html`) is one file with the manifest embedded (no server, no CDN, no
``fetch``, so it works opened from disk as well as from any static host). It asks for a
participant id (prefilled from ``?pid=`` in the URL, else random), shows the trials in that
participant's order (:func:`user_study.design.participant_order`, re-implemented bit for bit in
JavaScript between ``// BEGIN order`` and ``// END order``), shows progress, keeps unfinished
answers in the browser's localStorage, and ends with buttons that download the answers as CSV or
JSON (columns :data:`user_study.types.ANSWER_COLUMNS`). Stimuli are referenced relative to the
HTML file, or embedded as data URIs with ``embed_media=True`` (small studies only).

Nothing here reads the key: the form cannot leak which method is which.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
import logging
from pathlib import Path

from facial.atomic import write_text
from user_study.types import Manifest, StudyError

log = logging.getLogger(__name__)

EMBED_LIMIT_BYTES = 200 * 1024 * 1024

_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>__TITLE__</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 980px; margin: 1.5rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.5rem; }
  .hidden { display: none; }
  #progress-text { font-weight: 600; margin-bottom: .3rem; }
  progress { width: 100%; height: 12px; }
  video { width: 100%; max-height: 62vh; background: #000; margin: .8rem 0; }
  fieldset { border: 1px solid #ccc; border-radius: 6px; margin: .6rem 0; padding: .5rem .8rem; }
  legend { font-weight: 600; padding: 0 .3rem; }
  label.choice { display: inline-block; margin: .25rem 1.2rem .25rem 0; cursor: pointer; }
  button { font-size: 1rem; padding: .5rem 1.2rem; margin: .5rem .5rem .5rem 0; cursor: pointer; }
  #error { color: #b00020; min-height: 1.2em; }
  .note { color: #555; font-size: .92rem; }
</style>
</head>
<body>
<h1 id="title"></h1>
<section id="start">
  <p id="instructions"></p>
  <p class="note">Watch each video with sound (headphones if you can), then answer every question.
  Your answers stay in this browser until you download them at the end.</p>
  <label>Participant id: <input id="pid" maxlength="64" autocomplete="off"></label>
  <button id="start-btn" type="button">Start</button>
</section>
<section id="trial" class="hidden">
  <div id="progress-text"></div>
  <progress id="progress" value="0" max="1"></progress>
  <video id="video" controls playsinline preload="auto"></video>
  <form id="qform" onsubmit="return false"></form>
  <button id="next-btn" type="button">Next</button>
</section>
<section id="done" class="hidden">
  <h2>Thank you!</h2>
  <p>Please download your answers and send the file to the researcher.</p>
  <button id="csv-btn" type="button">Download answers (CSV)</button>
  <button id="json-btn" type="button">Download answers (JSON)</button>
</section>
<p id="error" role="alert"></p>
<script id="study-data" type="application/json">__STUDY_JSON__</script>
<script id="media-data" type="application/json">__MEDIA_JSON__</script>
<script>
(function () {
"use strict";
var STUDY = JSON.parse(document.getElementById("study-data").textContent);
var MEDIA = JSON.parse(document.getElementById("media-data").textContent);
var COLUMNS = __COLUMNS__;
var CHOICES = STUDY.scale === "2afc" ? ["A", "B"] : ["1", "2", "3", "4", "5"];
var SIDE = STUDY.layout === "side_by_side" ? {A: "A (left)", B: "B (right)"} : {A: "A (first)", B: "B (second)"};

// BEGIN order
function fnv1a32(text) {
  var bytes = new TextEncoder().encode(text), h = 0x811c9dc5;
  for (var i = 0; i < bytes.length; i++) { h ^= bytes[i]; h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}
function mulberry32(a) {
  return function () {
    a |= 0; a = a + 0x6D2B79F5 | 0;
    var t = Math.imul(a ^ a >>> 15, 1 | a);
    t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t;
    return ((t ^ t >>> 14) >>> 0) / 4294967296;
  };
}
function participantOrder(ids, seed, pid) {
  var out = ids.slice(), rand = mulberry32(fnv1a32(String(seed) + ":" + pid));
  for (var i = out.length - 1; i > 0; i--) {
    var j = Math.floor(rand() * (i + 1)), t = out[i]; out[i] = out[j]; out[j] = t;
  }
  return out;
}
// END order

var $ = function (id) { return document.getElementById(id); };
var state = null;
var trialsById = {};
STUDY.trials.forEach(function (t) { trialsById[t.id] = t; });

function storageKey(pid) { return "facial-study:" + STUDY.study_id + ":" + pid; }
function save() { try { localStorage.setItem(storageKey(state.pid), JSON.stringify(state)); } catch (e) { /* file:// may forbid storage */ } }
function load(pid) { try { return JSON.parse(localStorage.getItem(storageKey(pid)) || "null"); } catch (e) { return null; } }
function show(id) { ["start", "trial", "done"].forEach(function (s) { $(s).classList.toggle("hidden", s !== id); }); }
function error(msg) { $("error").textContent = msg || ""; }

function validPid(pid) { return pid.length > 0 && pid.length <= 64 && !/[,"\r\n\t]/.test(pid); }

function start() {
  var pid = $("pid").value.trim();
  if (!validPid(pid)) { error("Enter a participant id (at most 64 characters, no commas or quotes)."); return; }
  error("");
  state = load(pid) || {pid: pid, order: participantOrder(STUDY.trials.map(function (t) { return t.id; }), STUDY.order_seed, pid), index: 0, rows: []};
  save();
  if (state.index >= state.order.length) { finish(); } else { showTrial(); }
}

function showTrial() {
  show("trial");
  var n = state.order.length, i = state.index, trial = trialsById[state.order[i]];
  $("progress-text").textContent = "Trial " + (i + 1) + " of " + n;
  $("progress").max = n; $("progress").value = i;
  var video = $("video");
  video.src = MEDIA[trial.stimulus] || trial.stimulus;
  video.load();
  var form = $("qform");
  form.innerHTML = "";
  STUDY.questions.forEach(function (q) {
    var fs = document.createElement("fieldset"), lg = document.createElement("legend");
    lg.textContent = q.prompt; fs.appendChild(lg);
    CHOICES.forEach(function (c) {
      var lab = document.createElement("label"), inp = document.createElement("input");
      lab.className = "choice"; inp.type = "radio"; inp.name = q.id; inp.value = c;
      lab.appendChild(inp); lab.appendChild(document.createTextNode(" " + (STUDY.scale === "2afc" ? SIDE[c] : c)));
      fs.appendChild(lab);
    });
    form.appendChild(fs);
  });
  window.scrollTo(0, 0);
}

function next() {
  var trialId = state.order[state.index], now = new Date().toISOString(), rows = [];
  for (var k = 0; k < STUDY.questions.length; k++) {
    var q = STUDY.questions[k], sel = document.querySelector('input[name="' + q.id + '"]:checked');
    if (!sel) { error("Please answer every question before going on."); return; }
    rows.push({study_id: STUDY.study_id, participant: state.pid, trial: trialId, question: q.id, answer: sel.value,
               position: state.index + 1, timestamp: now, source: "html"});
  }
  error("");
  state.rows = state.rows.concat(rows);
  state.index += 1;
  save();
  $("video").pause();
  if (state.index >= state.order.length) { finish(); } else { showTrial(); }
}

function finish() { $("progress").value = state.order.length; show("done"); }

function csvCell(v) { v = String(v); return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
function toCsv(rows) {
  var lines = [COLUMNS.join(",")];
  rows.forEach(function (r) { lines.push(COLUMNS.map(function (c) { return csvCell(r[c]); }).join(",")); });
  return lines.join("\r\n") + "\r\n";
}
function download(name, text, type) {
  var a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], {type: type}));
  a.download = name; document.body.appendChild(a); a.click();
  setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
function fileBase() { return "answers_" + STUDY.study_id + "_" + state.pid.replace(/[^A-Za-z0-9_.-]/g, "_"); }

$("title").textContent = STUDY.title;
$("instructions").textContent = STUDY.instructions;
var params = new URLSearchParams(window.location.search);
$("pid").value = params.get("pid") || ("P-" + Math.random().toString(36).slice(2, 8));
$("start-btn").addEventListener("click", start);
$("next-btn").addEventListener("click", next);
$("csv-btn").addEventListener("click", function () { download(fileBase() + ".csv", toCsv(state.rows), "text/csv"); });
$("json-btn").addEventListener("click", function () {
  download(fileBase() + ".json", JSON.stringify({study_id: STUDY.study_id, participant: state.pid, answers: state.rows}, null, 1), "application/json");
});
window.facialStudy = {participantOrder: participantOrder, toCsv: toCsv, state: function () { return state; }};
})();
</script>
</body>
</html>
"""


def _script_json(data: object) -> str:
    """JSON safe to place inside a ``<script>`` element (no ``</script>`` break-out)."""
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(manifest: Manifest, media: dict[str, str] | None = None) -> str:
    """The HTML form as a string (``media`` maps stimulus paths to data URIs, or is empty)."""
    from user_study.types import ANSWER_COLUMNS

    return (
        _TEMPLATE.replace("__TITLE__", html.escape(manifest.title))
        .replace("__COLUMNS__", json.dumps(list(ANSWER_COLUMNS)))
        .replace("__MEDIA_JSON__", _script_json(media or {}))
        .replace("__STUDY_JSON__", _script_json(manifest.to_dict()))
    )


def write_html(manifest: Manifest, path: str | Path, *, embed_media: bool = False) -> Path:
    """Write the self-contained HTML form to ``path`` (atomically).

    With ``embed_media`` every stimulus (relative to ``path``'s folder) is inlined as a base64
    data URI, so the single file is the whole study (refused above 200 MB in total).
    """
    path = Path(path)
    media: dict[str, str] = {}
    if embed_media:
        total = 0
        for t in manifest.trials:
            f = path.parent / t.stimulus
            if not f.is_file():
                raise StudyError(f"cannot embed {f}: no such stimulus; build the stimuli first")
            total += f.stat().st_size
            if total > EMBED_LIMIT_BYTES:
                raise StudyError("stimuli are over 200 MB together; do not embed them, host the public/ folder instead")
            media[t.stimulus] = "data:video/mp4;base64," + base64.b64encode(f.read_bytes()).decode("ascii")
    write_text(path, render_html(manifest, media))
    log.info("wrote the HTML form %s%s", path, " (stimuli embedded)" if embed_media else "")
    return path


def questions_table(manifest: Manifest, *, base_url: str = "") -> list[dict[str, str]]:
    """One row per trial × question (manifest order): trial, stimulus (URL), question, prompt, choices."""
    choices = "|".join(manifest.choices)
    prefix = base_url.rstrip("/") + "/" if base_url else ""
    return [
        {"trial": t.id, "stimulus": prefix + t.stimulus, "question": q.id, "prompt": q.prompt, "choices": choices}
        for t in manifest.trials
        for q in manifest.questions
    ]


def write_questions_csv(manifest: Manifest, path: str | Path, *, base_url: str = "") -> Path:
    """Write the questions CSV for form services (Google Forms, Qualtrics, LimeSurvey …), atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["trial", "stimulus", "question", "prompt", "choices"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(questions_table(manifest, base_url=base_url))
    return write_text(path, buf.getvalue())
