"""The static HTML form (run under node with a stub DOM) and the questions CSV."""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess

import pytest

from user_study.design import participant_order
from user_study.forms import questions_table, render_html, write_html
from user_study.types import ANSWER_COLUMNS, StudyError

NODE = shutil.which("node")

# A minimal DOM: enough for the form's script to start, show trials, take answers and build its CSV.
STUB = r"""
const els = {};
function el(id) {
  if (!els[id]) els[id] = {id, textContent: "", value: "", innerHTML: "", max: 0, children: [], listeners: {},
    classList: {hidden: {}, toggle(c, on) { this.hidden[id] = on; }},
    addEventListener(t, f) { this.listeners[t] = f; }, appendChild(c) { this.children.push(c); },
    load() {}, pause() {}, src: ""};
  return els[id];
}
let answers = {};
global.document = {
  getElementById: id => id === "study-data" ? {textContent: STUDY} : id === "media-data" ? {textContent: "{}"} : el(id),
  createElement: tag => ({tag, children: [], appendChild(c) { this.children.push(c); }, click() {}, remove() {}}),
  createTextNode: t => ({text: t}),
  querySelector: sel => { const m = sel.match(/name="([^"]+)"/); return answers[m[1]] ? {value: answers[m[1]]} : null; },
  body: {appendChild() {}},
};
global.window = {location: {search: "?pid=P42"}, scrollTo() {}};
"""

DRIVE = r"""
const log = [];
log.push(els["pid"].value);
els["start-btn"].listeners.click();
const n = JSON.parse(STUDY).trials.length;
log.push(els["progress-text"].textContent, els["video"].src, els["qform"].children.length);
els["next-btn"].listeners.click();            // nothing answered → error, stays on trial 1
log.push(els["error"].textContent, window.facialStudy.state().index);
answers = {lip_sync: "A", head_motion: "B", eye_blink: "A", realism: "B"};
for (let i = 0; i < n; i++) els["next-btn"].listeners.click();
log.push(window.facialStudy.state().index, els["done"].classList.hidden["done"]);
console.log(JSON.stringify({log, order: window.facialStudy.state().order, csv: window.facialStudy.toCsv(window.facialStudy.state().rows)}));
"""


@pytest.mark.skipif(NODE is None, reason="node is not installed; the HTML form's script cannot be run")
def test_html_form_flow_under_node(tmp_path, study_helpers):
    manifest, _ = study_helpers.design_only_study(tmp_path, n_clips=3)
    page = render_html(manifest)
    script = page.rsplit("<script>", 1)[1].split("</script>")[0]
    program = f"const STUDY = {json.dumps(json.dumps(manifest.to_dict()))};\n" + STUB + script + DRIVE
    res = subprocess.run([NODE, "-e", program], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    order = participant_order(manifest.trial_ids, manifest.order_seed, "P42")
    n = len(manifest.trials)
    pid, progress, src, n_fieldsets, error, index_after_error, index_end, done_hidden = out["log"]
    assert pid == "P42" and progress == f"Trial 1 of {n}" and src == f"stimuli/{order[0]}.mp4" and n_fieldsets == 4
    assert "answer every question" in error and index_after_error == 0
    assert index_end == n and done_hidden is False
    assert out["order"] == order
    rows = list(csv.DictReader(io.StringIO(out["csv"])))
    assert list(rows[0]) == list(ANSWER_COLUMNS)
    assert len(rows) == n * 4 and [r["trial"] for r in rows[::4]] == order
    assert {r["participant"] for r in rows} == {"P42"} and {r["source"] for r in rows} == {"html"}
    assert [r["position"] for r in rows[::4]] == [str(i) for i in range(1, n + 1)]


def test_html_is_self_contained_and_escaped(tmp_path, study_helpers):
    manifest, _ = study_helpers.design_only_study(tmp_path, n_clips=2)
    manifest.title = "A </script><script>alert(1)</script> study"
    page = render_html(manifest)
    assert page.count("</script>") == 3  # the title cannot close a script element
    assert "<title>A &lt;/script&gt;" in page
    for external in ("http://", "https://", "src=\"//", "fetch("):
        assert external not in page


def test_embed_media(tmp_path, study_helpers):
    manifest, _ = study_helpers.design_only_study(tmp_path, n_clips=1, n_checks=0)
    public = tmp_path / "public"
    with pytest.raises(StudyError, match="no such stimulus"):
        write_html(manifest, public / "index.html", embed_media=True)
    (public / "stimuli").mkdir(parents=True)
    for t in manifest.trials:
        (public / t.stimulus).write_bytes(b"\x00\x00\x00\x18ftypmp42")
    page = write_html(manifest, public / "index.html", embed_media=True).read_text()
    assert "data:video/mp4;base64,AAAAGGZ0eXBtcDQy" in page


def test_questions_table(tmp_path, study_helpers):
    manifest, _ = study_helpers.design_only_study(tmp_path, n_clips=2, n_checks=1)
    rows = questions_table(manifest, base_url="https://example.org/study/")
    assert len(rows) == 3 * 4
    assert rows[0]["stimulus"] == "https://example.org/study/stimuli/t01.mp4" and rows[0]["choices"] == "A|B"
    assert [r["question"] for r in rows[:4]] == manifest.question_ids
