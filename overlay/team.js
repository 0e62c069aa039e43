// The manager's live view: polls /team/calls (every live call, most urgent first,
// ordered by the server) and /team/sessions (recorded sessions per rep). Every
// request carries the manager's token from this page's address. Text from the
// server is only ever set as textContent, never as HTML.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const query = `?token=${encodeURIComponent(token)}`;
const POLL_MS = 2000;
const SESSIONS_EVERY = 10; // polls between two reads of the sessions list

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function clock(s) {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
}

function talk(call) {
  if (call.own_share === null) return "-";
  return `${call.own} ${Math.round(call.own_share * 100)} %`;
}

function renderCalls(data) {
  const body = document.querySelector("#calls tbody");
  body.replaceChildren();
  for (const call of data.calls) {
    const tr = document.createElement("tr");
    tr.className = call.state;
    tr.dataset.call = call.call;
    cell(tr, call.name);
    cell(tr, call.state === "ended" ? `ended (${call.end_reason})` : call.pipeline);
    cell(tr, clock(call.duration_s));
    cell(tr, talk(call));
    cell(tr, `${Math.round(call.silence_s)} s`);
    const card = call.card;
    cell(tr, card ? card.prompt : "-", card ? `sev-${card.severity}` : "");
    cell(tr, String(call.stalls));
    cell(tr, call.why.join(", "));
    const open = cell(tr, "");
    if (call.state !== "ended") {
      const a = document.createElement("a");
      a.href = call.watch; // this call's read-only overlay
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = "watch";
      open.appendChild(a);
    }
    body.appendChild(tr);
  }
  document.getElementById("none").hidden = data.calls.length > 0;
  const asr = data.asr || {};
  document.getElementById("asr").textContent =
    `transcription: ${asr.backend || "?"}, ${asr.decodes || 0} decodes, ${asr.queued || 0} queued` +
    (asr.retried ? `, ${asr.retried} retried` : "");
}

function renderSessions(data) {
  const box = document.getElementById("sessions");
  box.replaceChildren();
  if (!data.recording) {
    box.textContent = "Sessions are not recorded on this server (--no-record).";
    return;
  }
  for (const rep of data.reps) {
    const h = document.createElement("h3");
    h.textContent = rep.name;
    box.appendChild(h);
    const ul = document.createElement("ul");
    for (const s of rep.sessions) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = `/team/report${query}&rep=${encodeURIComponent(rep.rep)}&session=${encodeURIComponent(s.id)}`;
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = `${s.started || s.id}: ${clock(s.duration_s || 0)}, ${s.cards || 0} card(s)`;
      li.appendChild(a);
      ul.appendChild(li);
    }
    if (!rep.sessions.length) ul.textContent = "no session yet";
    box.appendChild(ul);
  }
}

async function get(path) {
  const response = await fetch(path + query, { cache: "no-store" });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.json();
}

let polls = 0;
async function poll() {
  const problem = document.getElementById("problem");
  try {
    renderCalls(await get("/team/calls"));
    if (polls++ % SESSIONS_EVERY === 0) renderSessions(await get("/team/sessions"));
    problem.hidden = true;
  } catch (err) {
    problem.textContent = `cannot read the team's calls: ${err.message}`;
    problem.hidden = false;
  }
  setTimeout(poll, POLL_MS);
}

poll();
