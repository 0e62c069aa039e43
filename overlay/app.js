// Turnaround overlay: wires the connection to the card stack, captions, meters and
// the developer view. Protocol v1 is documented in README.md ("Protocol v1").

import { Captions } from "./captions.js";
import { CardStack } from "./cards.js";
import { Connection } from "./connection.js";
import { DevView } from "./devview.js";
import { Listener } from "./listen.js";
import { Meters } from "./meters.js";
import { pipSupported, popOut } from "./pip.js";
import { afterPaint } from "./util.js";

// The silence timer is redrawn this often between server messages.
const TICK_MS = 250;
// How long a notice (an error from the server, a failed pop out) stays up.
const NOTICE_MS = 4000;

const $ = (id) => document.getElementById(id);
const app = $("app");
const ui = {
  conn: $("conn"),
  connText: $("conn-text"),
  pause: $("btn-pause"),
  cc: $("btn-cc"),
  dev: $("btn-dev"),
  pip: $("btn-pip"),
  captions: $("captions"),
  devView: $("dev"),
  notice: $("notice"),
  summary: $("summary"),
  behind: $("behind"),
};

const prefs = {
  get(key, fallback) {
    try {
      const value = localStorage.getItem(`turnaround.${key}`);
      return value === null ? fallback : value === "1";
    } catch {
      return fallback;
    }
  },
  set(key, on) {
    try {
      localStorage.setItem(`turnaround.${key}`, on ? "1" : "0");
    } catch {
      // storage disabled: the toggle still works for this page
    }
  },
};

let pipelineState = "starting";
let noticeTimer = null;

const connection = new Connection({ onMessage, onState });
const cards = new CardStack($("cards"), {
  onFeedback: (id, action) => connection.send({ type: "feedback", card: id, action }),
});
const captions = new Captions(ui.captions);
const meters = new Meters({ talk: $("talk"), silence: $("silence"), monologue: $("monologue") });
const devView = new DevView(ui.devView);
// Audio from this page (`turnaround live --browser` only: the server says so).
const listener = new Listener({
  connection,
  root: $("capture"),
  notice: (text) => notice(text),
  onChange: () => connection.ws?.readyState === WebSocket.OPEN && showState(),
});

function notice(text) {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    ui.notice.hidden = true;
  }, NOTICE_MS);
}

/** Tell the server when a live card or final caption is on screen (latency). */
function ackRendered(node, id, kind, lat, receivedAt) {
  afterPaint(node, () => {
    const renderMs = performance.now() - receivedAt;
    connection.send({ type: "rendered", id, render_ms: Math.round(renderMs * 100) / 100 });
    devView.record(kind, lat, renderMs);
  });
}

function onMessage(msg, receivedAt) {
  switch (msg.type) {
    case "snapshot":
      connection.version = msg.protocol;
      cards.setLimits(msg.limits);
      captions.reset(msg.captions || []);
      cards.reset(msg.cards || []);
      meters.update(msg.metrics);
      setBehind(msg.metrics && msg.metrics.lag);
      setStatus(msg.status || {});
      break;
    case "caption": {
      const node = captions.add(msg);
      if (msg.final && node) ackRendered(node, msg.id, "caption", msg.lat, receivedAt);
      break;
    }
    case "card": {
      const node = cards.add(msg);
      if (node) ackRendered(node, msg.id, "card", msg.lat, receivedAt);
      break;
    }
    case "card_closed":
      cards.remove(msg.id, msg.reason);
      break;
    case "metrics":
      meters.update(msg);
      devView.setLag(msg.lag);
      setBehind(msg.lag);
      break;
    case "status":
      setStatus(msg);
      break;
    case "capture":
      listener.onCapture(msg);
      break;
    case "ack":
      if (msg.of === "listen") listener.onAck(msg);
      break;
    case "error":
      if (!listener.onError(msg)) notice(`Server: ${msg.message}`);
      break;
    default:
      break; // anything newer: nothing to show
  }
}

const STATE_TEXT = {
  starting: "Starting…",
  listening: "Live",
  paused: "Paused",
  stopped: "Call ended",
  error: "Error",
};

/** "Behind 2.4s": transcription is running behind the call (a loaded CPU, a big
 * model). Captions and cards come late until it catches up; the user should know. */
function setBehind(lag) {
  const behind = Number(lag && lag.behind_s) || 0;
  ui.behind.hidden = behind <= 0 || pipelineState === "stopped";
  ui.behind.textContent = `Behind ${behind.toFixed(1)}s`;
}

function setStatus(status) {
  pipelineState = status.state || pipelineState;
  showState();
  ui.conn.title = [status.model, ...(status.devices || []), status.detail].filter(Boolean).join(" · ");
  ui.pause.textContent = pipelineState === "paused" ? "Resume" : "Pause";
  ui.pause.title = pipelineState === "paused" ? "Resume listening (P)" : "Pause listening (P)";
  meters.setRunning(pipelineState === "listening");
  if (pipelineState === "stopped") ui.behind.hidden = true;
  devView.setStatus(status);
  showSummary(status);
}

// Once the call has ended the server offers its report (a path on this server);
// the token, when there is one, goes with it because the report holds the transcript.
function showSummary(status) {
  const ended = pipelineState === "stopped" || pipelineState === "error";
  const path = status.summary;
  const ours = typeof path === "string" && path.startsWith("/") && !path.startsWith("//");
  ui.summary.hidden = !(ended && ours);
  if (!ui.summary.hidden) ui.summary.href = path + connection.query;
}

// Waiting for Listen is not "Starting…": the coach is ready for this page's audio.
function showState() {
  ui.conn.dataset.state = pipelineState;
  const ready = pipelineState === "starting" && listener.ready;
  ui.connText.textContent = ready ? "Ready" : STATE_TEXT[pipelineState] || pipelineState;
}

function onState(state, info) {
  if (state === "open") {
    listener.onOpen(connection.ws);
    return; // the snapshot sets the real state
  }
  meters.setRunning(false);
  // The run ended (the server said "stopped", or "error", then went away): that is
  // the news, not the reconnect, which goes on quietly so a new run on the same
  // address is still picked up. It used to say "Reconnecting in 3s".
  const ended = pipelineState === "stopped" || pipelineState === "error";
  if (ended && state !== "refused") {
    ui.conn.dataset.state = pipelineState;
    ui.connText.textContent = STATE_TEXT[pipelineState];
    return;
  }
  ui.conn.dataset.state = state === "refused" ? "refused" : "offline";
  if (state === "connecting") ui.connText.textContent = "Connecting…";
  if (state === "retrying") {
    ui.connText.textContent = `Reconnecting in ${Math.ceil(info.delay / 1000)}s`;
  }
  if (state === "refused") {
    ui.connText.textContent = "Refused";
    notice("Wrong or missing token: open the link that turnaround printed.");
  }
}

function togglePause() {
  const action = pipelineState === "paused" ? "resume" : "pause";
  if (!connection.send({ type: "control", action })) notice("Not connected");
}

function setPressed(button, on) {
  button.setAttribute("aria-pressed", on ? "true" : "false");
}

function toggleCaptions(force) {
  const on = force ?? ui.captions.hidden;
  ui.captions.hidden = !on;
  setPressed(ui.cc, on);
  prefs.set("captions", on);
}

function toggleDev(force) {
  const on = force ?? ui.devView.hidden;
  ui.devView.hidden = !on;
  setPressed(ui.dev, on);
  prefs.set("dev", on);
  devView.render();
}

async function togglePip() {
  try {
    await popOut(app, { onKeydown, placeholder: $("popped") });
  } catch (err) {
    notice(err.message || String(err));
  }
}

function onKeydown(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  const top = cards.top();
  const key = event.key.toLowerCase();
  if ((key === "d" || key === "escape") && top) cards.feedback(top.dataset.id, "dismiss");
  else if (key === "h" && top) cards.feedback(top.dataset.id, "helpful");
  else if (key === "c") toggleCaptions();
  else if (key === "l") toggleDev();
  else if (key === "p") togglePause();
  else if (key === "o") togglePip();
  else return;
  event.preventDefault();
}

ui.pause.addEventListener("click", togglePause);
ui.cc.addEventListener("click", () => toggleCaptions());
ui.dev.addEventListener("click", () => toggleDev());
ui.pip.addEventListener("click", togglePip);
document.addEventListener("keydown", onKeydown);
if (!pipSupported()) {
  ui.pip.disabled = true;
  ui.pip.title = "Pop out needs Chrome or Edge 116 or newer";
}
toggleCaptions(prefs.get("captions", true));
toggleDev(prefs.get("dev", false));
setInterval(() => meters.tick(), TICK_MS);
connection.connect();
