// Developer view: per-stage latency of the last card and caption, and percentiles.
//
// Stages (seconds): speech end -> final text (ASR), final -> suggestion (engine),
// suggestion/final -> server (dispatch), and receipt -> painted on this page. The sum
// is speech end -> rendered, minus the network hop (sub-millisecond on loopback).

import { el, percentile } from "./util.js";

const HISTORY = 50;

function ms(seconds) {
  return seconds === null || seconds === undefined ? "–" : `${Math.round(seconds * 1000)}`;
}

export class DevView {
  constructor(root) {
    this.root = root;
    this.totals = { card: [], caption: [] };
    this.last = { card: null, caption: null };
    this.status = {};
    this.lag = {};
  }

  record(kind, lat, renderMs) {
    const stages = {
      final: lat?.final_s ?? null,
      suggestion: kind === "card" ? lat?.suggestion_s ?? null : null,
      server: lat?.queued_s ?? null,
      render: renderMs / 1000,
    };
    const total =
      stages.final === null
        ? null
        : stages.final + (stages.suggestion || 0) + (stages.server || 0) + stages.render;
    this.last[kind] = { ...stages, total };
    if (total !== null) {
      this.totals[kind].push(total);
      if (this.totals[kind].length > HISTORY) this.totals[kind].shift();
    }
    this.render();
  }

  setStatus(status) {
    this.status = status || {};
    this.render();
  }

  setLag(lag) {
    this.lag = lag || {};
    if (!this.root.hidden) this.render();
  }

  render() {
    if (this.root.hidden) return;
    const doc = this.root.ownerDocument;
    const row = (name, s) =>
      el(doc, "tr", {},
        el(doc, "th", {}, name),
        el(doc, "td", {}, ms(s?.final)),
        el(doc, "td", {}, ms(s?.suggestion)),
        el(doc, "td", {}, ms(s?.server)),
        el(doc, "td", {}, ms(s?.render)),
        el(doc, "td", { class: "total" }, ms(s?.total)));
    const pct = (kind) => {
      const v = this.totals[kind];
      return `${kind}s p50 ${ms(percentile(v, 50))} p95 ${ms(percentile(v, 95))} ms n=${v.length}`;
    };
    const st = this.status;
    this.root.replaceChildren(
      el(doc, "table", {},
        el(doc, "thead", {}, el(doc, "tr", {},
          el(doc, "th", {}, "ms"), el(doc, "th", {}, "→final"), el(doc, "th", {}, "→card"),
          el(doc, "th", {}, "→srv"), el(doc, "th", {}, "paint"), el(doc, "th", {}, "total"))),
        el(doc, "tbody", {}, row("card", this.last.card), row("caption", this.last.caption))),
      el(doc, "p", {}, `speech end → rendered: ${pct("card")}`),
      el(doc, "p", {}, `${pct("caption")}`),
      el(doc, "p", {},
        `ASR lag ${ms(this.lag.asr_s)} ms · queue ${ms(this.lag.queue_s)} ms · ` +
        `dropped partials ${st.dropped_partials ?? 0}`),
      el(doc, "p", { class: "muted" },
        `${st.model || "model ?"} · ${(st.devices || []).join(", ") || st.detail || ""}`),
    );
  }
}
