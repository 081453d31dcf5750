// Canvas drawing: the five neuron grids and the hidden state over the text.
// A grid shows an H-vector as rows x cols cells read row by row: cell (r, c) is neuron r*cols + c.

const HOVER = "#f59e0b"; // amber: the neuron under the pointer
const MIN_CELL = 7; // px: below this a grid wraps onto the next line instead of shrinking
const MAX_CELL = 22;

function setCanvasSize(canvas, w, h) {
  const dpr = window.devicePixelRatio || 1;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

function makeGrid(key, labelHtml, what) {
  const fig = el("figure", { class: "grid", "data-term": key });
  const cap = el("figcaption");
  cap.innerHTML = labelHtml; // trusted: our own labels, never user text
  const sub = el("span", { class: "sub" }, what);
  cap.append(el("br"), sub);
  const canvas = el("canvas", { role: "img", "aria-label": `${TERM_TEXT[key]} for every neuron` });
  const range = el("div", { class: "range" });
  fig.append(cap, canvas, range);
  return { key, fig, canvas, ctx: null, cs: 10, rows: 1, cols: 1, range, sub };
}

function sizeGrid(g, H, cs) {
  [g.rows, g.cols] = neuronGrid(H);
  g.cs = cs;
  g.ctx = setCanvasSize(g.canvas, g.cols * (cs + 1) + 3, g.rows * (cs + 1) + 3);
}

/** Cell size that fits five grids side by side in `width` px, within MIN_CELL ... MAX_CELL. */
function cellSize(width, H, n = 5, gaps = 150) {
  const cols = neuronGrid(H)[1];
  const cs = Math.floor((width - gaps) / (n * cols)) - 1;
  return Math.max(MIN_CELL, Math.min(MAX_CELL, cs));
}

function cellRect(g, k) {
  const r = Math.floor(k / g.cols), c = k % g.cols;
  return [2 + c * (g.cs + 1), 2 + r * (g.cs + 1), g.cs, g.cs];
}

/** Outline a cell twice, black outside and white inside: visible on any colour. */
function outline(ctx, x, y, w, h, outer = "#000", inner = "#fff") {
  ctx.lineWidth = 2;
  ctx.strokeStyle = outer;
  ctx.strokeRect(x - 1, y - 1, w + 2, h + 2);
  ctx.lineWidth = 1;
  ctx.strokeStyle = inner;
  ctx.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
}

function drawGrid(g, values, z, lut, chosen, hover) {
  const { ctx } = g;
  const H = values.length;
  ctx.clearRect(0, 0, g.canvas.width, g.canvas.height);
  for (let k = 0; k < H; k++) {
    const [x, y, w, h] = cellRect(g, k);
    ctx.fillStyle = lut.css[lutIndex(values[k], z)];
    ctx.fillRect(x, y, w, h);
  }
  if (hover >= 0 && hover < H && hover !== chosen) {
    const [x, y, w, h] = cellRect(g, hover);
    outline(ctx, x, y, w, h, HOVER, "#000");
  }
  if (chosen >= 0 && chosen < H) {
    const [x, y, w, h] = cellRect(g, chosen);
    outline(ctx, x, y, w, h);
  }
}

/** The neuron under a pointer event on a grid, or -1. */
function gridHit(g, ev, H) {
  const box = g.canvas.getBoundingClientRect();
  const c = Math.floor((ev.clientX - box.left - 2) / (g.cs + 1));
  const r = Math.floor((ev.clientY - box.top - 2) / (g.cs + 1));
  if (c < 0 || r < 0 || c >= g.cols) return -1;
  const k = r * g.cols + c;
  return k < H ? k : -1;
}

// -- the hidden state over the text: columns are steps, rows are neurons -------------------------

function makeHidden() {
  const wrap = el("div", { class: "hwrap" });
  const scroller = el("div", { class: "hscroll", tabindex: "0",
    "aria-label": "The hidden state over the text; scroll to see all of it" });
  const base = el("canvas", { class: "hbase", role: "img",
    "aria-label": "Every neuron's h_t (rows) at every step (columns)" });
  // the cursor, the chosen and the hovered row: boxes that move, so a step repaints no pixels
  const mark = (cls) => el("div", { class: `hmark ${cls}`, "aria-hidden": "true" });
  const shade = mark("shade"), col = mark("col"), chosen = mark("row"), hover = mark("row hov");
  const ticks = el("div", { class: "hticks", "aria-hidden": "true" }); // the tokens, when wide
  const plane = el("div", { class: "hplane" }); // the image and the boxes over it
  plane.append(base, shade, chosen, hover, col);
  scroller.append(ticks, plane);
  const zoom = el("div", { class: "zoom", role: "group", "aria-label": "Zoom" });
  const out = el("button", { type: "button", "data-zoom": "-1", "aria-label": "Zoom out" }, "−");
  const inn = el("button", { type: "button", "data-zoom": "1", "aria-label": "Zoom in" }, "+");
  const label = el("span", { class: "zoomlabel" });
  zoom.append(out, label, inn);
  wrap.append(zoom, scroller);
  return { wrap, scroller, ticks, base, shade, col, chosen, hover, zoom: 0, cw: 3, ch: 3, label };
}

/** Cell size of the hidden-state view: fit the width, at least 3 px, times 2^zoom. */
function sizeHidden(hv, T, H, width) {
  const f = 2 ** hv.zoom;
  hv.cw = Math.max(3, Math.min(16, Math.floor((width - 8) / T))) * f;
  hv.ch = Math.max(3, Math.min(10, Math.floor(360 / H))) * f;
  hv.cw = Math.max(3, Math.round(hv.cw));
  hv.ch = Math.max(3, Math.round(hv.ch));
  const w = T * hv.cw, h = H * hv.ch;
  hv.base.style.width = `${w}px`;
  hv.base.style.height = `${h}px`;
  hv.ticks.style.width = `${w}px`;
  hv.ticks.style.gridTemplateColumns = `repeat(${T}, ${hv.cw}px)`;
  hv.ticks.hidden = hv.cw < 9; // a glyph per column only where it fits
  hv.label.textContent = `${hv.cw}×${hv.ch} px per cell`;
}

/** Draw every h_t[k] once (1 pixel per cell, scaled up without smoothing). */
function drawHiddenBase(hv, h, T, H, lut, shown) {
  hv.ticks.replaceChildren(...shown.map((tok) => el("span", {}, tok)));
  hv.base.width = T;
  hv.base.height = H;
  const ctx = hv.base.getContext("2d");
  const img = ctx.createImageData(T, H);
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < H; k++) {
      const c = lut.rgb[hIndex(h[t * H + k])];
      const p = 4 * (k * T + t);
      img.data[p] = c[0]; img.data[p + 1] = c[1]; img.data[p + 2] = c[2]; img.data[p + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

/** The cursor (step t), the chosen neuron's row and the hovered one, over the base image. */
function drawHiddenOverlay(hv, t, T, H, chosen, hover) {
  const w = T * hv.cw, h = H * hv.ch;
  const place = (node, x, y, bw, bh) => {
    node.style.transform = `translate(${x}px, ${y}px)`;
    node.style.width = `${bw}px`;
    node.style.height = `${bh}px`;
  };
  place(hv.shade, (t + 1) * hv.cw, 0, Math.max(0, w - (t + 1) * hv.cw), h); // not read yet
  place(hv.col, t * hv.cw, 0, hv.cw, h);
  place(hv.chosen, 0, chosen * hv.ch, w, hv.ch);
  hv.hover.hidden = !(hover >= 0 && hover !== chosen);
  if (!hv.hover.hidden) place(hv.hover, 0, hover * hv.ch, w, hv.ch);
}

function hiddenHit(hv, ev, T, H) {
  const box = hv.base.getBoundingClientRect();
  const t = Math.floor((ev.clientX - box.left) / hv.cw);
  const k = Math.floor((ev.clientY - box.top) / hv.ch);
  return t >= 0 && t < T && k >= 0 && k < H ? [t, k] : null;
}
