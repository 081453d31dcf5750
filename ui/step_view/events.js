// Events of the step view: buttons, slider, keys, token clicks, linked hover, neuron clicks, the
// colour mode and the speed.

const KEYS = { ArrowRight: 1, ArrowLeft: -1 };

const OWN_KEYS = new Set(["tab", "radio", "slider", "option", "menuitem", "listbox", "combobox",
  "spinbutton", "textbox", "grid", "tree"]); // widgets whose arrow keys mean something else

function isTyping(target) {
  const tag = target && target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target?.isContentEditable;
}

/** A control elsewhere on the page that keeps its own keys (Space on a button presses it). */
function othersKey(V, target, key) {
  if (!target || !target.getAttribute || V.root.contains(target)) return false;
  if (OWN_KEYS.has(target.getAttribute("role"))) return true;
  return key === " " && ["BUTTON", "A", "SUMMARY"].includes(target.tagName);
}

function onKey(V, ev) {
  if (!V.root.isConnected) { window.removeEventListener("keydown", V.keyHandler); return; }
  if (!V.hd || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const target = ev.composedPath()[0];
  const slider = V.$(".slider");
  if (isTyping(target) && !(target === slider && ev.key === " ")) return; // the slider steps itself
  if (othersKey(V, target, ev.key)) return;
  if (ev.key in KEYS) {
    pause(V);
    setStep(V, V.step + KEYS[ev.key]);
  } else if (ev.key === "Home") {
    pause(V);
    setStep(V, 0);
  } else if (ev.key === "End") {
    pause(V);
    setStep(V, V.T - 1);
  } else if (ev.key === " ") {
    if (ev.repeat) { ev.preventDefault(); return; }
    V.spaceAt = performance.now();
    if (V.playing) pause(V); else play(V);
  } else {
    return;
  }
  ev.preventDefault(); // no page scroll, no second activation of a focused button
}

function act(V, what) {
  if (!V.hd) return;
  if (what === "play") {
    if (V.playing) pause(V); else play(V);
    return;
  }
  pause(V);
  const to = { first: 0, prev: V.step - 1, next: V.step + 1, last: V.T - 1 }[what];
  setStep(V, to);
}

/** The hover readout and tooltip: exact value, neuron, step and token. */
function showHover(V, ev, k, text) {
  V.hover = k;
  const tip = V.$(".tip");
  tip.textContent = text;
  tip.hidden = false;
  const right = ev.clientX + 14 + tip.offsetWidth > window.innerWidth - 8;
  tip.style.left = `${right ? ev.clientX - 14 - tip.offsetWidth : ev.clientX + 14}px`;
  tip.style.top = `${ev.clientY + 14}px`;
  V.$(".readout").textContent = text;
  draw(V);
}

function clearHover(V) {
  V.$(".tip").hidden = true;
  if (V.hover !== -1) {
    V.hover = -1;
    draw(V);
  }
}

function tokenText(V, t) {
  return `“${V.hd.shown[t]}”`;
}

function bindGrid(V, g) {
  g.canvas.addEventListener("pointermove", (ev) => {
    const k = gridHit(g, ev, V.H);
    if (k < 0) { clearHover(V); return; }
    const t = V.step;
    if (g.key === "h_prev") {
      const hp = hPrev(V, t)[k];
      const w = V.A.W_h[V.neuron * V.H + k];
      showHover(V, ev, k, `h_${t - 1}[${k}] = ${fmt(hp)} · neuron ${k} · before step ${t} · ` +
        `W_h[${V.neuron},${k}] = ${fmt(w)}, product ${fmt(w * hp)}`);
      return;
    }
    const v = g.key === "b_h" ? V.A.b_h[k] : V.A[g.key][t * V.H + k];
    showHover(V, ev, k, `${TERM_TEXT[g.key]} = ${fmt(v)} · neuron ${k} · step ${t} ${tokenText(V, t)}`);
  });
  g.canvas.addEventListener("pointerleave", () => clearHover(V));
  g.canvas.addEventListener("click", (ev) => {
    const k = gridHit(g, ev, V.H);
    if (k >= 0) setNeuron(V, k);
  });
}

function bindEvents(V) {
  const { root, $ } = V;
  root.addEventListener("click", (ev) => {
    // a Space press handled as a key above must not also count as a click on a focused button
    if (ev.target.closest("button") && ev.detail === 0 && performance.now() - V.spaceAt < 600) {
      return;
    }
    const b = ev.target.closest("button[data-act]");
    if (b) {
      act(V, b.dataset.act);
      b.focus();
      return;
    }
    const c = ev.target.closest("button[data-colour]");
    if (c) {
      setColour(V, c.dataset.colour);
      c.focus();
      return;
    }
    const z = ev.target.closest("button[data-zoom]");
    if (z) {
      V.hv.zoom = Math.max(-1, Math.min(3, V.hv.zoom + Number(z.dataset.zoom)));
      V.width = 0; // lay out again at the new zoom
      layout(V);
      draw(V);
      return;
    }
    const tok = ev.target.closest(".tok");
    if (tok) {
      pause(V);
      setStep(V, Number(tok.dataset.t));
    }
  });
  $(".slider").addEventListener("input", (ev) => { pause(V); setStep(V, Number(ev.target.value)); });
  $(".neuron").addEventListener("change", (ev) => setNeuron(V, Number(ev.target.value)));
  $(".speed select").addEventListener("change", (ev) => setSpeed(V, Number(ev.target.value)));
  V.grids.forEach((g) => bindGrid(V, g));
  bindGrid(V, V.prev);
  const hv = V.hv;
  hv.scroller.addEventListener("pointermove", (ev) => {
    const hit = hiddenHit(hv, ev, V.T, V.H);
    if (!hit) { clearHover(V); return; }
    const [t, k] = hit;
    showHover(V, ev, k, `h_t = ${fmt(V.A.h[t * V.H + k])} · neuron ${k} · step ${t} ${tokenText(V, t)}`);
  });
  hv.scroller.addEventListener("pointerleave", () => clearHover(V));
  hv.scroller.addEventListener("click", (ev) => {
    const hit = hiddenHit(hv, ev, V.T, V.H);
    if (hit) setNeuron(V, hit[1]);
  });
  root.querySelector(".contribs").addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-k]");
    if (tr) setNeuron(V, Number(tr.dataset.k));
  });
  V.keyHandler = (ev) => onKey(V, ev);
  window.addEventListener("keydown", V.keyHandler);
  new ResizeObserver(() => { if (V.hd && root.clientWidth !== V.width) { layout(V); draw(V); } })
    .observe(root);
}
