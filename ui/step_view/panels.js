// HTML panels of the step view: the token strips, the equation, the memory term, the guesses and
// the off-screen table. User text only ever goes in through textContent, never as markup.

const MEMORY_TOP = 5; // largest positive and negative contributions listed
const MAX_TOKEN_CHARS = 12; // a longer (word) token is cut in its cell; the hover has it whole

function buildStrip(container, tokens, unknown, label) {
  const unk = new Set(unknown);
  const spans = tokens.map((tok, t) => {
    const long = tok.length > MAX_TOKEN_CHARS;
    const s = el("span", { class: unk.has(t) ? "tok unk" : "tok", "data-t": String(t) },
      long ? tok.slice(0, MAX_TOKEN_CHARS - 1) + "…" : tok);
    if (long) s.title = tok;
    if (unk.has(t)) s.title = (long ? tok + ": " : "") + "Unknown to this model: read as <unk>";
    return s;
  });
  container.replaceChildren(...spans);
  container.setAttribute("aria-label", label);
  return spans;
}

function moveCursor(spans, old, t) {
  if (old >= 0 && spans[old]) spans[old].classList.remove("cur");
  if (spans[t]) spans[t].classList.add("cur");
}

/** Colour each token of the neuron strip by h_t[j] on g's range. */
function colourStrip(spans, h, H, j, lut) {
  spans.forEach((s, t) => {
    const c = lut.rgb[hIndex(h[t * H + j])];
    s.style.background = `rgb(${c[0]},${c[1]},${c[2]})`;
    s.style.color = inkOn(c);
    s.title = `step ${t}: h[${j}] = ${fmt(h[t * H + j])}`;
  });
}

function num(key, v, shown = v) {
  return `<span class="num" data-term="${key}" data-value="${v}">${fmt(shown)}</span>`;
}

function plusTerm(key, v) {
  return v < 0 ? ` − ${num(key, v, -v)}` : ` + ${num(key, v)}`;
}

/** h_t[j] = g((W_i x_t)[j] + (W_h h_{t-1})[j] + b_h[j]) with the trace's numbers. */
function renderEquation(node, t, j, v) {
  const tm = t - 1 < 0 ? "−1" : String(t - 1);
  node.innerHTML =
    `<div>h<sub>${t}</sub>[${j}] = ${gOf(` (W<sub>i</sub> x<sub>${t}</sub>)[${j}] + ` +
    `(W<sub>h</sub> h<sub>${tm}</sub>)[${j}] + b<sub>h</sub>[${j}] `)}</div>` +
    `<div>= ${gOf(` ${num("Wi_x", v.Wi_x)}${plusTerm("Wh_h", v.Wh_h)}${plusTerm("b_h", v.b_h)} `)}</div>` +
    `<div>= ${gOf(` ${num("a", v.a)} `)} = <b>${num("h", v.h)}</b></div>`;
}

/** W_h h_{t-1} at neuron j, unit by unit: the largest contributions W_h[j,k]·h_{t-1}[k]. */
function renderMemory(node, t, j, H, W_h, hPrev, whh) {
  const terms = new Float64Array(H);
  let sum = 0;
  for (let k = 0; k < H; k++) {
    terms[k] = W_h[j * H + k] * hPrev[k];
    sum += terms[k];
  }
  const order = Array.from(terms.keys()).sort((a, b) => terms[b] - terms[a]);
  const pos = order.filter((k) => terms[k] > 0).slice(0, MEMORY_TOP);
  const neg = order.filter((k) => terms[k] < 0).reverse().slice(0, MEMORY_TOP);
  const tm = t - 1 < 0 ? "−1" : String(t - 1);
  const rows = (ks, sign) => ks.map((k) =>
    `<tr class="${sign}" data-k="${k}"><td>${k}</td><td>${fmt(W_h[j * H + k])}</td>` +
    `<td>${fmt(hPrev[k])}</td><td class="c" data-value="${terms[k]}">${fmt(terms[k])}</td></tr>`,
  ).join("");
  const head = `<tr><th scope="col">unit k</th><th scope="col">W<sub>h</sub>[${j},k]</th>` +
    `<th scope="col">h<sub>${tm}</sub>[k]</th><th scope="col">product</th></tr>`;
  const none = (what) => `<tr><td colspan="4" class="none">no ${what} contribution</td></tr>`;
  node.innerHTML =
    `<table class="contrib"><caption>Pushing (W<sub>h</sub> h<sub>${tm}</sub>)[${j}] up</caption>` +
    `${head}${pos.length ? rows(pos, "pos") : none("positive")}</table>` +
    `<table class="contrib"><caption>Pulling it down</caption>` +
    `${head}${neg.length ? rows(neg, "neg") : none("negative")}</table>` +
    `<p class="sum">All ${H} products W<sub>h</sub>[${j},k]·h<sub>${tm}</sub>[k] add up to ` +
    `<b class="memsum" data-value="${sum}">${fmt(sum)}</b>, the memory term ` +
    `(W<sub>h</sub> h<sub>${tm}</sub>)[${j}] = <span class="memterm" data-value="${whh}">` +
    `${fmt(whh)}</span> in the equation.` +
    (t === 0 ? " At step 0 nothing is remembered yet: h<sub>−1</sub> is all zeros." : "") +
    "</p>";
}

/** The ten most likely next tokens, the actual one marked, with its -ln p. */
function renderTopk(node, text, hd, A, t) {
  const k = hd.arrays.find((a) => a.name === "top_ids").shape[1];
  const ids = A.top_ids.subarray(t * k, (t + 1) * k);
  const ps = A.top_p.subarray(t * k, (t + 1) * k);
  const next = t + 1 < hd.T ? hd.ids[t + 1] : null;
  const pmax = ps[0] || 1;
  const bar = (id, p, cls) =>
    `<div class="bar ${cls}" data-id="${id}" data-p="${p}"><span class="lab"></span>` +
    `<span class="track"><span class="fill" style="width:${(100 * p) / pmax}%"></span></span>` +
    `<span class="p">${p.toFixed(4)}</span></div>`;
  let html = "";
  ids.forEach((id, i) => { html += bar(id, ps[i], id === next ? "actual" : ""); });
  if (next !== null && !ids.includes(next)) html += bar(next, A.next_p[t], "actual outside");
  node.innerHTML = html;
  node.querySelectorAll(".bar").forEach((b) => {
    const id = Number(b.dataset.id);
    b.querySelector(".lab").textContent = hd.vocab_shown[id] +
      (b.classList.contains("actual") ? "  ← next" : "");
  });
  if (next === null) {
    text.textContent = "This is the last token: there is nothing left to predict.";
  } else {
    text.replaceChildren(
      "Next in your text: ", el("b", {}, `“${hd.shown[t + 1]}”`),
      ` (amber), which the network gave p = ${A.next_p[t].toFixed(4)}; that costs a loss of ` +
      "−ln p = ", el("b", { class: "loss", "data-value": String(A.next_loss[t]) },
        A.next_loss[t].toFixed(3)), " nats.");
  }
}

/** The off-screen text alternative: the chosen neuron's numbers at the current step. */
function renderSrTable(node, t, j, tok, v) {
  const rows = [["W_i·x_t", v.Wi_x], ["W_h·h_{t−1}", v.Wh_h], ["b_h", v.b_h], ["a_t", v.a],
    [`h_t = ${gOf("a_t")}`, v.h]];
  node.replaceChildren(el("caption", {}, `Neuron ${j} at step ${t}, reading “${tok}”`),
    ...rows.map(([name, val]) => {
      const tr = el("tr");
      tr.append(el("th", { scope: "row" }, name), el("td", {}, fmt(val)));
      return tr;
    }));
}
