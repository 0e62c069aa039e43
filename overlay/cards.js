// The card stack: newest card on top in large type, older ones compact below.

import { el } from "./util.js";

// The stack stays glanceable only while short. The server owns the limit (its
// snapshot says it); this is only what a page shows before the first snapshot.
const DEFAULT_MAX_CARDS = 3;
// Grace after a card's time is up before the page removes it on its own; normally the
// server's card_closed arrives first. Covers a page that lost its connection.
const EXPIRY_GRACE_MS = 2000;
const SEVERITY_LABEL = { info: "Tip", warn: "Reset", alert: "Act now" };

export class CardStack {
  constructor(root, { onFeedback }) {
    this.root = root;
    this.onFeedback = onFeedback;
    this.timers = new Map();
    this.maxCards = DEFAULT_MAX_CARDS;
  }

  /** The server's limits, from its snapshot. */
  setLimits(limits) {
    const max = Number(limits && limits.max_cards);
    if (Number.isInteger(max) && max > 0) this.maxCards = max;
  }

  get doc() {
    return this.root.ownerDocument;
  }

  reset(cards) {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const node of this.root.querySelectorAll(".card")) node.remove();
    // The snapshot lists cards oldest first; add() puts each on top.
    for (const card of cards) this.add(card, { animate: false });
    this.updateEmpty();
  }

  add(card, { animate = true } = {}) {
    if (this.root.querySelector(`.card[data-id="${CSS.escape(card.id)}"]`)) return null;
    const doc = this.doc;
    const severity = ["info", "warn", "alert"].includes(card.severity) ? card.severity : "info";
    const node = el(
      doc,
      "article",
      { class: `card sev-${severity}${animate ? " enter" : ""}`, "data-id": card.id },
      el(
        doc,
        "div",
        { class: "card-head" },
        el(doc, "span", { class: "sev" }, SEVERITY_LABEL[severity]),
        el(doc, "span", { class: "trigger" }, card.trigger.replaceAll("_", " ")),
      ),
      el(doc, "p", { class: "prompt" }, card.prompt),
      el(doc, "p", { class: "why" }, card.why),
      el(doc, "p", { class: "source", title: card.source }, card.source),
      el(
        doc,
        "div",
        { class: "actions" },
        el(doc, "button", { class: "helpful", type: "button", title: "Helpful (H)" },
          "✓ Helpful ", el(doc, "kbd", {}, "H")),
        el(doc, "button", { class: "dismiss", type: "button", title: "Dismiss (D or Esc)" },
          "✕ Dismiss ", el(doc, "kbd", {}, "D")),
      ),
      el(doc, "div", { class: "ttl", "aria-hidden": "true" }, el(doc, "span")),
    );
    const ttl = Math.max(0, Number(card.expires_in_s) || 0);
    node.querySelector(".ttl span").style.animationDuration = `${ttl}s`;
    node.querySelector(".helpful").addEventListener("click", () => this.feedback(card.id, "helpful"));
    node.querySelector(".dismiss").addEventListener("click", () => this.feedback(card.id, "dismiss"));
    this.root.prepend(node);
    this.timers.set(card.id, setTimeout(() => this.remove(card.id), ttl * 1000 + EXPIRY_GRACE_MS));
    for (const extra of [...this.root.querySelectorAll(".card")].slice(this.maxCards)) {
      this.remove(extra.dataset.id);
    }
    this.updateEmpty();
    return node;
  }

  remove(id, reason = "expired") {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    const node = this.root.querySelector(`.card[data-id="${CSS.escape(id)}"]`);
    if (!node || node.classList.contains("leaving")) return;
    node.classList.add("leaving", `closed-${reason}`);
    // Let the fade play, then drop the node (immediately when motion is reduced).
    const done = () => {
      node.remove();
      this.updateEmpty();
    };
    const reduced = this.doc.defaultView?.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (reduced) done();
    else setTimeout(done, 160);
  }

  feedback(id, action) {
    this.onFeedback(id, action);
    this.remove(id, action);
  }

  /** The card keyboard shortcuts act on: the newest one still showing. */
  top() {
    return this.root.querySelector(".card:not(.leaving)");
  }

  updateEmpty() {
    const empty = this.root.querySelector(".empty");
    if (empty) empty.hidden = Boolean(this.root.querySelector(".card:not(.leaving)"));
  }
}
