/* The replay page: plays the timeline step by step, starts the terminal player, and checks
   each event's inclusion proof against the latest signed checkpoint with WebCrypto.

   Without this script every step is listed and nothing is checked; with it the steps are
   revealed one at a time (play, pause, step back and forward, speed), the current one
   announced in an aria-live region. Verification split: the server verified the
   checkpoint's signature (ledger's note verifier, see controlplane/web/replay/proofs.py);
   here each leaf is hashed (SHA-256 of 0x00 || leaf) and folded with its proof (0x01 nodes,
   RFC 9162 2.1.3.2) to the checkpoint's root. */
(() => {
  "use strict";

  // A long idle gap between two steps is shortened to this (before the speed divides it).
  const MAX_GAP_MS = 3000;

  // -- playing the timeline ----------------------------------------------------------------
  function replayTimeline(timeline) {
    const steps = Array.from(timeline.querySelectorAll(":scope > li.step"));
    const controls = document.getElementById("replay-controls");
    const position = document.getElementById("replay-position");
    const speed = document.getElementById("replay-speed");
    if (!steps.length || !controls || !position || !speed) return;
    const button = (name) => controls.querySelector(`[data-replay="${name}"]`);
    // aria-disabled rather than disabled: a button that stops applying keeps the focus.
    const enable = (name, on) => {
      if (on) button(name).removeAttribute("aria-disabled");
      else button(name).setAttribute("aria-disabled", "true");
      button(name).disabled = false;
    };
    const enabled = (name) => button(name).getAttribute("aria-disabled") !== "true";
    const on = (name, action) => button(name).addEventListener("click", () => {
      if (enabled(name)) action();
    });
    let current = 0;
    let timer = null;

    function show(index, announce = true) {
      current = Math.max(0, Math.min(index, steps.length - 1));
      steps.forEach((step, i) => {
        step.hidden = i > current;
        if (i === current) step.setAttribute("aria-current", "step");
        else step.removeAttribute("aria-current");
      });
      if (announce) {
        const step = steps[current];
        position.textContent = `Step ${current + 1} of ${steps.length}: ${step.dataset.title}`;
        step.scrollIntoView({ block: "nearest" });
      }
      enable("back", current > 0);
      enable("forward", current < steps.length - 1);
    }

    function delayTo(next) {
      if (speed.value === "instant") return 0;
      const gap = Number(steps[next].dataset.offsetMs) - Number(steps[current].dataset.offsetMs);
      return Math.min(Math.max(gap, 0), MAX_GAP_MS) / Number(speed.value);
    }

    function playing(yes) {
      enable("play", !yes);
      enable("pause", yes);
      if (!yes && timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
    }

    function tick() {
      if (speed.value === "instant") show(steps.length - 1);
      if (current >= steps.length - 1) {
        playing(false);
        position.textContent = `End of the session: step ${steps.length} of ${steps.length}`;
        return;
      }
      timer = setTimeout(() => {
        show(current + 1);
        tick();
      }, delayTo(current + 1));
    }

    on("play", () => {
      if (current >= steps.length - 1) show(0);
      playing(true);
      tick();
    });
    on("pause", () => {
      playing(false);
      position.textContent = `Paused at step ${current + 1} of ${steps.length}`;
    });
    on("forward", () => { playing(false); show(current + 1); });
    on("back", () => { playing(false); show(current - 1); });
    on("all", () => { playing(false); show(steps.length - 1); });
    controls.hidden = false;
    playing(false);
    show(0);
  }

  // -- the terminal player -------------------------------------------------------------------
  function startPlayer() {
    const element = document.getElementById("terminal-player");
    if (!element || !window.AsciinemaPlayer) return;
    window.AsciinemaPlayer.create(element.dataset.castUrl, element, { fit: "width", idleTimeLimit: 3, preload: true });
  }

  // -- verification --------------------------------------------------------------------------
  const base64Bytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

  async function sha256(...parts) {
    const total = parts.reduce((sum, part) => sum + part.length, 0);
    const joined = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) { joined.set(part, offset); offset += part.length; }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
  }

  const LEAF = Uint8Array.of(0);
  const NODE = Uint8Array.of(1);

  // RFC 9162 2.1.3.2: the root the proof leads to from leaf `index` in a tree of `size`, or
  // null when the proof's length does not fit the path.
  async function rootFromProof(leaf, index, size, proof) {
    let fn = index;
    let sn = size - 1;
    let hash = await sha256(LEAF, new TextEncoder().encode(leaf));
    for (const sibling of proof) {
      if (sn === 0) return null;
      if (fn % 2 === 1 || fn === sn) {
        hash = await sha256(NODE, sibling, hash);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        hash = await sha256(NODE, hash, sibling);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 ? hash : null;
  }

  const sameBytes = (a, b) => a.length === b.length && a.every((byte, i) => byte === b[i]);

  async function entryVerdict(entry, checkpoint, root) {
    if (!checkpoint || entry.seq >= checkpoint.size) return ["pending checkpoint", "muted", "no signed checkpoint covers this event yet"];
    if (!checkpoint.signature_valid) return ["not verified", "danger", `checkpoint: ${checkpoint.problem}`];
    if (!entry.matches_event) return ["not verified", "danger", entry.problem];
    if (!entry.proof) return ["not verified", "danger", entry.problem || "no inclusion proof"];
    const computed = await rootFromProof(entry.leaf, entry.seq, checkpoint.size, entry.proof.map(base64Bytes));
    if (computed === null || !sameBytes(computed, root)) return ["not verified", "danger", "the inclusion proof does not lead to the checkpoint's root"];
    return ["verified", "ok", `included in checkpoint ${checkpoint.size}, checked in this browser`];
  }

  function badge(seq, [text, tone, why]) {
    for (const element of document.querySelectorAll(`[data-proof-seq="${seq}"]`)) {
      element.textContent = text;
      element.className = `badge badge-${tone} proof-badge`;
      element.title = why;
    }
  }

  function checkpointLine(status, checkpoint) {
    if (!checkpoint) {
      status.textContent = "No checkpoint has been signed yet: every event is pending.";
      return;
    }
    const signed = new Date(checkpoint.signed_at).toISOString().replace("T", " ").slice(0, 19);
    status.textContent = checkpoint.signature_valid
      ? `Latest checkpoint: ${checkpoint.size} entries, signed ${signed} UTC; its signature verified on the server.`
      : `Latest checkpoint ${checkpoint.size}: its signature does NOT verify (${checkpoint.problem}).`;
    status.classList.toggle("muted", checkpoint.signature_valid);
  }

  async function verify(section) {
    const status = document.getElementById("checkpoint-status");
    if (!window.crypto || !crypto.subtle) {
      status.textContent = "This browser cannot check proofs here (WebCrypto needs HTTPS).";
      return;
    }
    let answer;
    try {
      const response = await fetch(section.dataset.proofsUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      answer = await response.json();
    } catch (error) {
      status.textContent = `The proofs could not be loaded (${error.message}).`;
      return;
    }
    const checkpoint = answer.checkpoint;
    checkpointLine(status, checkpoint);
    const root = checkpoint ? base64Bytes(checkpoint.root_hash) : null;
    await Promise.all(answer.entries.map(async (entry) => {
      badge(entry.seq, await entryVerdict(entry, checkpoint, root));
    }));
  }

  function start() {
    const timeline = document.getElementById("timeline");
    if (timeline) replayTimeline(timeline);
    startPlayer();
    const section = document.getElementById("verification");
    if (section) verify(section);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
