// Small helpers shared by the overlay modules. No dependencies, no globals.

/** Create an element: el("p", {class: "why"}, "text", child, ...). */
export function el(doc, tag, attrs = {}, ...children) {
  const node = doc.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    // Not `instanceof Node`: after "pop out" nodes belong to the picture-in-picture
    // window, whose Node is a different constructor.
    const isNode = typeof child === "object" && child !== null && "nodeType" in child;
    node.append(isNode ? child : doc.createTextNode(String(child)));
  }
  return node;
}

/**
 * Call `fn` once the current DOM changes have been painted. requestAnimationFrame
 * runs just before a paint; a message posted from it is handled just after. Uses the
 * window the node lives in: after "pop out" that is the picture-in-picture window,
 * whose frames keep running while the original tab is hidden.
 */
export function afterPaint(node, fn) {
  const win = node.ownerDocument.defaultView || window;
  win.requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => fn();
    channel.port2.postMessage(0);
  });
}

/** p-th percentile (0..100) of numbers, nearest-rank; null when empty. */
export function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

export const SPEAKER_NAMES = {
  rep: "Rep",
  customer: "Customer",
  manager: "Manager",
  unknown: "Speaker",
};

export function speakerName(speaker) {
  return SPEAKER_NAMES[speaker] || speaker;
}
