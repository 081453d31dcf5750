// The step view's controller: one view per mounted component, kept across reruns. Every move
// (buttons, slider, keys, tokens, play, the colour mode, the speed) is drawn at once in the
// browser; the view (step, neuron, colour mode, speed) reaches Python once stepping pauses
// (REPORT_AFTER_MS), or at once on a click that picks a neuron or a colour mode.

const VIEWS = new WeakMap(); // parentElement -> view
// The view that received a payload last. The payload carries the view as the server last moved
// it (seq), not the browser's later moves, so that the rerun after a report re-sends nothing.
// This module stays loaded while the page is open; when the component mounts again (another page
// and back), the new view takes up the view of the last one if the trace and seq match.
let latest = null;

const SKELETON = `
<div class="controls" role="toolbar" aria-label="Step through the text">
  <button type="button" data-act="first" aria-label="First step" title="First step (Home)">« First</button>
  <button type="button" data-act="prev" aria-label="Previous step" title="Previous step (←)">‹ Prev</button>
  <button type="button" data-act="play" class="play" aria-label="Play" title="Play or pause (Space)">▶ Play</button>
  <button type="button" data-act="next" aria-label="Next step" title="Next step (→)">Next ›</button>
  <button type="button" data-act="last" aria-label="Last step" title="Last step (End)">Last »</button>
  <label class="speed">Speed <select aria-label="Speed while playing"></select></label>
  <input type="range" class="slider" min="0" max="0" value="0" aria-label="Step t">
  <span class="stepinfo"></span>
</div>
<div class="strip tokens" role="group"></div>
<p class="reads"></p>
<h3>Inside the step</h3>
<div class="colours" role="group" aria-labelledby="rx-colours" aria-describedby="rx-colourhelp">
  <span class="lab" id="rx-colours">Colours of the four terms</span><span class="seg"></span>
</div>
<div class="grids"></div>
<p class="readout">Hover a cell for its exact value; click one to follow that neuron below.</p>
<p class="caption gridcap"></p>
<p class="caption colourhelp" id="rx-colourhelp"></p>
<h3 class="eqhead"></h3>
<div class="eqrow">
  <label class="pick">Neuron j <input type="number" class="neuron" min="0" step="1"></label>
  <div class="equation"></div>
</div>
<div class="memory">
  <div class="hprev"><div class="lab"></div></div>
  <div class="contribs"></div>
</div>
<table class="sr-only srtable"></table>
<h3>What it predicts next</h3>
<div class="predrow">
  <div class="topk"></div>
  <div class="predside">
    <p>The network's ten best guesses for the next token, from p<sub>t</sub> = softmax(W<sub>o</sub> h<sub>t</sub> + b<sub>o</sub>).</p>
    <p class="predtext"></p><p class="caption meanloss"></p>
  </div>
</div>
<h3 class="nshead"></h3>
<div class="strip nstrip" role="group"></div>
<p class="caption nscap"></p>
<h3>The hidden state over the text</h3>
<div class="hslot"></div>
<p class="caption hcap"></p>
<div class="tip" role="tooltip" hidden></div>`;

function createView(parent) {
  const root = el("div", { class: "rx", "data-ready": "0" });
  root.innerHTML = SKELETON; // trusted, static
  parent.appendChild(root);
  const $ = (s) => root.querySelector(s);
  const V = {
    root, $, hd: null, A: null, T: 0, H: 0, step: 0, neuron: 0, hover: -1, playing: false,
    speed: null, colour: null, seq: null, reported: null, playTimer: null,
    reportTimer: null, lut: null, spans: [], nspans: [], width: 0, spaceAt: -1e9,
    grids: TERMS.map(([k, lab, what]) => makeGrid(k, lab, what)),
    prev: makeGrid("h_prev", "h<sub>t−1</sub>", "what the neurons remember"), hv: makeHidden(),
    setStateValue: () => {},
  };
  const gridsBox = $(".grids");
  V.grids.forEach((g, i) => {
    gridsBox.append(g.fig);
    if (i < OPS.length) gridsBox.append(el("span", { class: "op", "aria-hidden": "true" }, OPS[i]));
  });
  $(".hprev").append(V.prev.fig);
  $(".hslot").append(V.hv.wrap);
  bindEvents(V);
  return V;
}

function receive(V, data) {
  const before = V.hd ? V : latest; // this mount's last payload, or the previous mount's
  const { header, arrays } = parsePayload(data, before?.hd && { header: before.hd, arrays: before.A });
  const newTrace = !V.hd || V.hd.trace_id !== header.trace_id;
  const kept = !V.hd && before && before.hd.trace_id === header.trace_id &&
    before.seq === header.view.seq ? before : null; // a new mount where the last one stood
  latest = V;
  V.hd = header;
  V.A = arrays;
  if (header.g) { // the model's activation: labels and h_t's colours follow it
    G = header.g;
    const hg = V.grids.find((g) => g.key === "h");
    const hcap = hg.fig.querySelector("figcaption");
    hcap.innerHTML = `h<sub>t</sub> = ${gOf("a<sub>t</sub>")}`; // trusted: our own label
    hcap.append(el("br"), hg.sub);
    const ops = V.root.querySelectorAll(".op");
    if (ops.length) ops[ops.length - 1].textContent = `${G.name === "identity" ? "" : G.label} →`;
  }
  const view = header.view;
  if (newTrace) onTrace(V);
  const moved = view.seq !== V.seq;
  if (moved) { // the server moved the view (a link, a new text, a test): follow it
    pause(V);
    V.seq = view.seq;
    const to = kept || view;
    V.step = Math.min(Math.max(to.step, 0), V.T - 1);
    V.neuron = Math.min(Math.max(to.neuron, 0), V.H - 1);
    V.colour = to.colour;
    V.speed = to.speed;
    V.reported = kept ? kept.reported : viewNow(V);
    if (kept) scheduleReport(V, 0); // a move the last mount had no time to report
  }
  if (newTrace || moved) { // else: the rerun after a report, which changes nothing here
    showChoices(V);
    drawNeuron(V);
    draw(V);
  }
  V.root.dataset.ready = "1";
}

function onTrace(V) {
  const hd = V.hd;
  V.T = hd.T;
  V.H = hd.H;
  V.lut = makeLut(hd.stops);
  V.spans = buildStrip(V.$(".tokens"), hd.shown, hd.unknown, "The text, one token each; click one to go to that step");
  V.nspans = buildStrip(V.$(".nstrip"), hd.shown, hd.unknown, "The text coloured by the chosen neuron");
  V.spans.forEach((s) => s.setAttribute("title", (s.title ? `${s.title}. ` : "") +
    `step ${s.dataset.t}: click to go there`)); // (a cut word's title has it whole)
  V.$(".slider").max = String(V.T - 1);
  V.$(".neuron").max = String(V.H - 1);
  buildChoices(V);
  V.$(".meanloss").textContent = hd.mean_loss === null ? "" :
    `Average loss over the whole text: ${hd.mean_loss.toFixed(3)} nats per ${hd.unit}.`;
  V.width = 0;
  layout(V);
  drawHiddenBase(V.hv, V.A.h, V.T, V.H, V.lut, hd.shown);
}

/** Sizes that depend on the width: grid cells and the hidden-state view. */
function layout(V) {
  const width = V.root.clientWidth || 900;
  if (width === V.width || !V.hd) return;
  V.width = width;
  const cs = cellSize(width, V.H);
  V.grids.forEach((g) => sizeGrid(g, V.H, cs));
  sizeGrid(V.prev, V.H, Math.max(MIN_CELL, Math.min(14, cs)));
  sizeHidden(V.hv, V.T, V.H, width);
  const [rows, cols] = neuronGrid(V.H);
  V.$(".hcap").textContent = `Rows are the ${V.H} neurons (0 at the top), columns the ` +
    `${V.T} steps (0 on the left), ${V.hv.cw} × ${V.hv.ch} px each; the shaded part is not ` +
    "read yet. Hover for the exact value, click a row to follow that neuron; − and + zoom.";
  V.$(".gridcap").textContent = `Each grid holds the ${V.H} neurons, ${cols} to a row` +
    ` (${rows} rows): neuron k sits in row ⌊k / ${cols}⌋, column k mod ${cols}. Blue is negative,` +
    ` red positive, white zero; h_t = ${gOf("a_t")} spans ${fmt(G.lo, 3)} … ${fmt(G.hi, 3)}` +
    (G.rest ? ` (white at ${G.rest} = ${gOf("0")})` : "") +
    ". The chosen neuron has a black and white frame.";
}

/** The colour modes and the speeds the payload offers, as buttons and options. */
function buildChoices(V) {
  const hd = V.hd;
  V.$(".colours .seg").replaceChildren(...hd.colour_modes.map(([key, label]) =>
    el("button", { type: "button", "data-colour": key, "aria-pressed": "false" }, label)));
  V.$(".colours").title = hd.colour_help;
  V.$(".colourhelp").textContent = hd.colour_help;
  V.$(".speed select").replaceChildren(...hd.speeds.map((r) =>
    el("option", { value: String(r) }, `${r} token${r === 1 ? "" : "s"}/s`)));
}

/** The chosen colour mode and speed, shown on their controls. */
function showChoices(V) {
  V.root.querySelectorAll("button[data-colour]").forEach((b) =>
    b.setAttribute("aria-pressed", b.dataset.colour === V.colour ? "true" : "false"));
  V.$(".speed select").value = String(V.speed);
  V.root.dataset.colour = V.colour;
  V.root.dataset.speed = String(V.speed);
}

function values(V, t, j) {
  const { A, H } = V;
  return { Wi_x: A.Wi_x[t * H + j], Wh_h: A.Wh_h[t * H + j], b_h: A.b_h[j], a: A.a[t * H + j],
    h: A.h[t * H + j] };
}

function hPrev(V, t) {
  return t === 0 ? V.A.h0 : row(V.A.h, t - 1, V.H);
}

function scaleOf(V, key) {
  if (key === "h" || key === "h_prev") return G.z;
  return V.colour === "shared" ? V.hd.scales.shared : V.hd.scales[key];
}

/** Everything that changes with the step (and the neuron), drawn at once. */
function draw(V) {
  const { hd, A, H, step: t, neuron: j } = V;
  const tok = hd.shown[t]; // as rnn.display_token shows it
  moveCursor(V.spans, V.drawnStep ?? -1, t);
  moveCursor(V.nspans, V.drawnStep ?? -1, t);
  V.drawnStep = t;
  V.$(".slider").value = String(t);
  V.$(".slider").setAttribute("aria-valuetext", `step ${t} of ${V.T - 1}, token ${tok}`);
  V.$(".stepinfo").textContent = `Step t = ${t} of ${V.T - 1}`;
  V.$(".reads").replaceChildren(`At step t = ${t} the network reads `,
    el("b", {}, `“${tok}”`), ` (token id ${hd.ids[t]}) and updates its hidden state h_t.` +
    " Click a token to jump to it; ← → Home End and Space work anywhere on the page.");
  for (const g of V.grids) {
    const raw = g.key === "b_h" ? A.b_h : row(A[g.key], t, H);
    const isH = g.key === "h";
    const vals = isH && G.rest ? raw.map((v) => v - G.rest) : raw; // white at g(0)
    const z = scaleOf(V, g.key);
    drawGrid(g, vals, z, V.lut, j, V.hover);
    g.range.textContent = isH ? `${fmt(G.lo, 2)} … ${fmt(G.hi, 2)}`
      : `−${fmt(z, z < 10 ? 2 : 1)} … ${fmt(z, z < 10 ? 2 : 1)}`;
  }
  const hp = hPrev(V, t);
  drawGrid(V.prev, G.rest ? hp.map((v) => v - G.rest) : hp, G.z, V.lut, -1, V.hover);
  const tm = t === 0 ? "−1" : String(t - 1);
  V.prev.fig.querySelector("figcaption").innerHTML = `h<sub>${tm}</sub>, the state before this step`;
  const v = values(V, t, j);
  V.$(".eqhead").textContent = `Neuron ${j} at step ${t}, with its numbers`;
  renderEquation(V.$(".equation"), t, j, v);
  renderMemory(V.$(".contribs"), t, j, H, A.W_h, hp, v.Wh_h);
  renderSrTable(V.$(".srtable"), t, j, tok, v);
  renderTopk(V.$(".topk"), V.$(".predtext"), hd, A, t);
  drawHiddenOverlay(V.hv, t, V.T, H, j, V.hover);
  if (V.$(".neuron") !== V.root.getRootNode().activeElement) V.$(".neuron").value = String(j);
  V.root.dataset.step = String(t);
  V.root.dataset.neuron = String(j);
}

/** What depends on the neuron but not on the step: the neuron strip. */
function drawNeuron(V) {
  const j = V.neuron;
  colourStrip(V.nspans, V.A.h, V.H, j, V.lut);
  V.$(".nshead").textContent = `Neuron ${j} over the text`;
  V.$(".nscap").textContent = `Each token is coloured by h[${j}] after reading it ` +
    `(${fmt(G.lo, 3)} … ${fmt(G.hi, 3)}): a ` +
    "neuron that lights up at spaces, vowels or inside words shows it here.";
}

function setStep(V, t) {
  t = Math.min(Math.max(Math.round(t), 0), V.T - 1);
  if (!V.hd || t === V.step) return;
  V.step = t;
  draw(V);
  scheduleReport(V);
}

/** Another colour mode: the grids repaint here and now; the server hears of it at once. */
function setColour(V, colour) {
  if (!V.hd || colour === V.colour) return;
  V.colour = colour;
  showChoices(V);
  draw(V);
  scheduleReport(V, 0);
}

function setSpeed(V, speed) {
  if (!V.hd || !V.hd.speeds.includes(speed) || speed === V.speed) return;
  V.speed = speed;
  showChoices(V);
  if (V.playing) { // keep playing at the new rate from here
    clearTimeout(V.playTimer);
    V.playStart = performance.now();
    V.played = 0;
    scheduleTick(V);
  }
  scheduleReport(V); // as a step: once the view pauses, so a Play right after is not rerun
}

function setNeuron(V, j) {
  j = Math.min(Math.max(Math.round(j), 0), V.H - 1);
  if (!V.hd || !Number.isFinite(j) || j === V.neuron) return;
  V.neuron = j;
  drawNeuron(V);
  draw(V);
  scheduleReport(V, 0);
}

// -- play ------------------------------------------------------------------------------------

function play(V) {
  if (V.step >= V.T - 1) setStep(V, 0);
  V.playing = true;
  V.playStart = performance.now();
  V.played = 0;
  playButton(V);
  scheduleTick(V);
}

function pause(V) {
  if (!V.playing) return;
  V.playing = false;
  clearTimeout(V.playTimer);
  playButton(V);
  scheduleReport(V);
}

/** Steps fall on a fixed schedule (start + n / rate), so the rate is exact and never drifts. */
function scheduleTick(V) {
  const due = V.playStart + ((V.played + 1) * 1000) / V.speed;
  V.playTimer = setTimeout(() => tick(V), Math.max(0, due - performance.now()));
}

function tick(V) {
  if (!V.playing) return;
  if (!V.root.isConnected) { V.playing = false; return; }
  V.played += 1;
  setStep(V, V.step + 1); // drawn here, every step
  if (V.step >= V.T - 1) pause(V);
  else scheduleTick(V);
}

function playButton(V) {
  const b = V.$(".play");
  b.textContent = V.playing ? "❚❚ Pause" : "▶ Play";
  b.setAttribute("aria-label", V.playing ? "Pause" : "Play");
  b.setAttribute("aria-pressed", V.playing ? "true" : "false");
  V.root.dataset.playing = V.playing ? "1" : "0";
}

// -- the server hears of the view once stepping pauses --------------------------------------

function scheduleReport(V, after = REPORT_AFTER_MS) {
  clearTimeout(V.reportTimer);
  V.reportTimer = setTimeout(() => report(V), after);
}

function viewNow(V) {
  return { step: V.step, neuron: V.neuron, colour: V.colour, speed: V.speed };
}

function report(V) {
  if (V.playing || !V.root.isConnected) return;
  const now = viewNow(V);
  const last = V.reported;
  if (last && Object.keys(now).every((k) => last[k] === now[k])) return;
  V.reported = now;
  V.setStateValue("view", now);
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let V = VIEWS.get(parentElement);
  if (!V) {
    V = createView(parentElement);
    VIEWS.set(parentElement, V);
  }
  V.setStateValue = setStateValue;
  if (data) receive(V, data);
  return () => {}; // the view outlives reruns; its listeners stop once it leaves the page
}
