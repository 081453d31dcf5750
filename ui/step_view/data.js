// The step view's data: the payload from session/explorer.py, colours and number formats.
// Plain functions; ui/step_view.py joins this file, draw.js, panels.js and main.js into one module.

const MAGIC = "RNNX";
const TERMS = [
  // key, label (HTML), what it is; a_t = W_i x_t + W_h h_{t-1} + b_h, h_t = tanh(a_t)
  ["Wi_x", "W<sub>i</sub>·x<sub>t</sub>", "input"],
  ["Wh_h", "W<sub>h</sub>·h<sub>t−1</sub>", "memory"],
  ["b_h", "b<sub>h</sub>", "bias"],
  ["a", "a<sub>t</sub>", "pre-activation"],
  ["h", "h<sub>t</sub> = tanh(a<sub>t</sub>)", "hidden state"],
];
const TERM_TEXT = { Wi_x: "W_i·x_t", Wh_h: "W_h·h_{t−1}", b_h: "b_h", a: "a_t", h: "h_t" };
const OPS = ["+", "+", "=", "tanh →"];
// The model's activation g (the payload's header.g): its name, g(0) and the half-width of h_t's
// colour range around g(0) (1 for tanh, 0.5 for sigmoid, the text's own for ReLU and identity).
let G = { name: "tanh", label: "tanh", rest: 0, z: 1, lo: -1, hi: 1 };
const REPORT_AFTER_MS = 350; // the view reaches the server once stepping pauses this long

/** Header and arrays of a payload (bytes: see session/explorer.py). */
function parsePayload(u8, known) {
  if (!(u8 instanceof Uint8Array)) u8 = new Uint8Array(u8);
  const magic = String.fromCharCode(u8[0], u8[1], u8[2], u8[3]);
  if (magic !== MAGIC) throw new Error("not a step-view payload");
  const n = new DataView(u8.buffer, u8.byteOffset + 4, 4).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(u8.subarray(8, 8 + n)));
  if (known && known.header.trace_id === header.trace_id) {
    return { header, arrays: known.arrays }; // same trace: only the view may have changed
  }
  const buf = u8.slice(8 + n).buffer; // a copy starting at 0, so every array is aligned
  const arrays = {};
  for (const item of header.arrays) {
    const count = item.shape.reduce((a, b) => a * b, 1);
    const Kind = item.dtype === "int32" ? Int32Array : Float32Array;
    arrays[item.name] = new Kind(buf, item.offset, count);
  }
  return { header, arrays };
}

/** (rows, cols) of the grid that shows an H-vector, as figures/explorer.py's neuron_grid. */
function neuronGrid(H) {
  const cols = Math.max(1, Math.ceil(Math.sqrt(2 * H)));
  return [Math.ceil(H / cols), cols];
}

/** A 256-entry colour table for the diverging scale (blue < 0 < red, white at 0). */
function makeLut(stops) {
  const parsed = stops.map(([pos, c]) => [pos, c.match(/\d+/g).map(Number)]);
  const css = [], rgb = [];
  for (let i = 0; i < 256; i++) {
    const x = i / 255;
    let k = 1;
    while (k < parsed.length - 1 && parsed[k][0] < x) k++;
    const [p0, c0] = parsed[k - 1], [p1, c1] = parsed[k];
    const f = p1 > p0 ? Math.min(1, Math.max(0, (x - p0) / (p1 - p0))) : 0;
    const c = c0.map((v, j) => Math.round(v + f * (c1[j] - v)));
    rgb.push(c);
    css.push(`rgb(${c[0]},${c[1]},${c[2]})`);
  }
  return { css, rgb };
}

/** Index into the colour table of value v on the range -z ... z. */
function lutIndex(v, z) {
  if (!Number.isFinite(v)) return 127;
  const i = Math.round(((v / z + 1) / 2) * 255);
  return i < 0 ? 0 : i > 255 ? 255 : i;
}

/** Colour-table index of a hidden-state value: white at g(0), the ends at g's range. */
function hIndex(v) {
  return lutIndex(v - G.rest, G.z);
}

/** "g(inner)" as the model writes it: tanh(…), ReLU(…), σ(…), or just … for the identity. */
function gOf(inner) {
  return G.name === "identity" ? inner : `${G.label}(${inner})`;
}

/** Black or white text on a background colour, whichever contrasts more. */
function inkOn(rgb) {
  const lin = rgb.map((v) => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  const L = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  return (L + 0.05) / 0.05 > 1.05 / (L + 0.05) ? "#000" : "#fff";
}

/** A number with 4 decimals and a true minus sign. */
function fmt(v, digits = 4) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const s = Math.abs(v).toFixed(digits);
  return (v < 0 && Number(s) !== 0 ? "−" : "") + s;
}

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

/** Row t of a (T, H) array, as a view. */
function row(arr, t, H) {
  return arr.subarray(t * H, (t + 1) * H);
}
