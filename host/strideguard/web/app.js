// strideguard phone page: live numbers and alerts over Server-Sent Events.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(location.search).get("token");
  const q = token ? "?token=" + encodeURIComponent(token) : "";
  const SEV = { info: 0, coach: 1, caution: 2, stop: 3 };
  const VIBRATE = { stop: [500, 150, 500, 150, 500], caution: [300, 120, 300], coach: [150], info: [150] };
  // notices announced like alerts (strideguard.alerts.model.ANNOUNCED_NOTICES)
  const ANNOUNCED_NOTICES = new Set(["recording_stopped", "baseline_refused"]);
  const STALE_MS = 6000; // numbers older than this are greyed out
  const SILENT_MS = 15000; // no message (not even a ping) this long: reconnect

  // state, exposed for tests and debugging
  const sg = {
    sensors: new Map(), // name -> {leg, stride, link, calibration, strideAt}
    alerts: new Map(), // sensor|kind -> alert dict
    ended: [], // recently ended alerts: {alert, until}
    session: null,
    question: null, // the day-after question and, once answered, its advice
    haptics: new Map(), // sensor -> latest "haptic" event: what its motor plays
    enabled: false,
    finished: false,
    conn: "connecting",
    reconnects: 0,
    received: 0,
    spoken: [],
    vibrated: [],
    lastMsg: 0,
    lastSaid: new Map(),
    canAcknowledge: false, // the host offers POST action/acknowledge (a live run)
    acknowledging: null, // "sensor|kind" posted, waiting for the host's event
    runTime: null, // {s: run time in seconds, at: Date.now() when received, ticking}
    waiting: false, // a headless host between runs: keep listening
    wakeLock: "none", // none | held | released | unavailable | refused
  };
  window.__sg = sg;
  // the runner's choice survives a reload (the browser still wants one touch to unlock)
  const STORE_KEY = "strideguard.sound";
  const remembered = () => { try { return localStorage.getItem(STORE_KEY) === "on"; } catch (e) { return false; } };
  const remember = (on) => { try { localStorage.setItem(STORE_KEY, on ? "on" : "off"); } catch (e) { /* private mode */ } };

  // ------------------------------------------------------------------ connection
  let es = null;
  function setConn(s, text) {
    sg.conn = s;
    const el = $("conn");
    el.className = "conn " + s;
    el.textContent = text || { live: "● live", connecting: "connecting…", reconnecting: "reconnecting…", denied: "no access", finished: "■ run finished", waiting: "■ run finished · waiting for the next run" }[s] || s;
  }
  function connect(isRetry) {
    if (es) es.close();
    if (isRetry) sg.reconnects += 1;
    setConn(isRetry ? "reconnecting" : "connecting");
    es = new EventSource("events" + q);
    es.onopen = () => { sg.lastMsg = Date.now(); setConn(sg.waiting ? "waiting" : "live"); };
    es.onmessage = (m) => {
      sg.lastMsg = Date.now();
      let d;
      try { d = JSON.parse(m.data); } catch (e) { return; }
      sg.received += 1;
      handle(d);
    };
    es.addEventListener("ping", () => { sg.lastMsg = Date.now(); });
    es.onerror = () => {
      if (sg.finished) return;
      if (es.readyState === EventSource.CLOSED) {
        // the server refused (403) or is restarting: find out, then retry ourselves
        fetch("state" + q, { cache: "no-store" }).then((r) => {
          if (r.status === 403) setConn("denied", "wrong or missing token: scan the QR code again");
          else setTimeout(() => connect(true), 2000);
        }).catch(() => { setConn("reconnecting"); setTimeout(() => connect(true), 2000); });
      } else {
        sg.reconnects += 1; // the browser reconnects by itself
        setConn("reconnecting");
      }
    };
  }
  const listening = () => sg.conn === "live" || sg.conn === "waiting";
  setInterval(() => {
    if (!sg.finished && listening() && Date.now() - sg.lastMsg > SILENT_MS) connect(true);
    renderStale();
    renderCalibration();
    renderEnded();
    renderClock();
  }, 1000);
  window.addEventListener("online", () => { if (!sg.finished && !listening()) connect(true); });

  // ------------------------------------------------------------------ events
  function sensor(name) {
    if (!sg.sensors.has(name)) sg.sensors.set(name, { leg: null, stride: null, link: null, calibration: null, strideAt: 0, calAt: 0 });
    return sg.sensors.get(name);
  }
  function handle(d) {
    switch (d.type) {
      case "reset":
        clearRun();
        break;
      case "capabilities":
        sg.canAcknowledge = Boolean(d.acknowledge);
        break;
      case "stride": {
        const s = sensor(d.sensor);
        s.leg = d.leg || s.leg;
        s.stride = d;
        s.strideAt = Date.now();
        break;
      }
      case "link": sensor(d.sensor).link = d; break;
      case "calibration": { const s = sensor(d.sensor); s.calibration = d; s.calAt = Date.now(); break; }
      case "baseline": { const s = sensor(d.sensor); s.baseline = d; break; }
      case "symmetry": sg.symmetry = d; break;
      case "session": {
        if (d.state === "started" && !d.replay) clearRun(); // a new run of a headless host
        sg.session = d;
        const details = d.details || {};
        if (typeof details.run_time_s === "number") {
          const shown = d.state === "started" || !sg.runTime ? 0 : sg.runTime.shown || 0;
          sg.runTime = { s: details.run_time_s, at: Date.now(), shown: shown, ticking: d.state === "started" || d.state === "running" };
        }
        if (d.state === "ended" && details.session_continues) {
          sg.waiting = true; // the host stays: keep listening for the next run
          if (sg.runTime) sg.runTime.ticking = false;
          setConn("waiting");
        } else if (d.state === "ended") {
          if (sg.runTime) sg.runTime.ticking = false;
          finish();
        } else if (d.state === "waiting") {
          sg.waiting = true;
          sg.runTime = null;
          setConn("waiting");
        } else if (sg.waiting && (d.state === "started" || d.state === "running")) {
          sg.waiting = false;
          setConn("live");
        }
        wake();
        break;
      }
      case "question": sg.question = d; break;
      case "haptic": sg.haptics.set(d.sensor, d); break;
      case "alert": {
        const key = d.sensor + "|" + d.kind;
        if (d.state === "ended") {
          const was = sg.alerts.get(key);
          sg.alerts.delete(key);
          if (was && !d.replay) sg.ended.push({ alert: d, until: Date.now() + 20000 });
        } else {
          sg.alerts.set(key, d);
          if (sg.acknowledging === key && d.state !== "reminder") sg.acknowledging = null;
          // an acknowledged alert stays on the screen, silently
          if (!d.replay && d.state !== "acknowledged") announce(d);
        }
        break;
      }
      default: return;
    }
    render();
  }
  function clearRun() {
    sg.sensors.clear();
    sg.alerts.clear();
    sg.haptics.clear();
    sg.ended = [];
    sg.acknowledging = null;
    sg.symmetry = null;
    $("sensors").textContent = "";
  }

  // ------------------------------------------------------------------ sound & vibration
  function finish() {
    // the run is over: the server is about to stop, so stop listening instead of
    // showing "reconnecting…" for ever
    sg.finished = true;
    if (es) es.close();
    setConn("finished");
    wake();
  }
  function announce(a) {
    const loud = (SEV[a.severity] || 0) >= SEV.coach || ANNOUNCED_NOTICES.has(a.kind);
    if (!sg.enabled || !loud || a.state === "acknowledged") return;
    const last = sg.lastSaid.get(a.kind) || 0;
    if (a.state !== "escalated" && Date.now() - last < 20000) return;
    sg.lastSaid.set(a.kind, Date.now());
    const pattern = VIBRATE[a.severity];
    if (pattern && navigator.vibrate) {
      try { if (navigator.vibrate(pattern)) sg.vibrated.push(a.kind); } catch (e) { /* not allowed */ }
    }
    if (window.speechSynthesis) {
      const advice = (a.advice || "").split(". ")[0].replace(/\.$/, "");
      const side = a.leg === "L" ? "Left leg. " : a.leg === "R" ? "Right leg. " : "";
      const text = side + a.title.replace("—", ",") + ". " + advice;
      try {
        if (a.severity === "stop") speechSynthesis.cancel();
        const u = new SpeechSynthesisUtterance(text);
        u.rate = 1.05;
        speechSynthesis.speak(u);
        sg.spoken.push(text);
      } catch (e) { /* speech unavailable */ }
    }
  }
  // sound and vibration: the runner's tap unlocks them; the choice is remembered, so after a
  // reload the page is on at once and the first touch anywhere unlocks the browser again
  function unlock() {
    // a first sound and buzz inside a tap unlocks them for later alerts
    try { if (navigator.vibrate) navigator.vibrate(60); } catch (e) { /* ignore */ }
    try {
      if (window.speechSynthesis) speechSynthesis.speak(new SpeechSynthesisUtterance("Sound on"));
    } catch (e) { /* ignore */ }
  }
  function setEnabled(on) {
    sg.enabled = on;
    remember(on);
    const b = $("enable");
    b.classList.toggle("on", on);
    b.textContent = on ? "✓ Sound & vibration on (tap to mute)" : "Tap to enable sound & vibration";
    renderTouchHint();
  }
  function renderTouchHint() {
    // after a reload the browser has forgotten the tap: one touch anywhere brings it back
    const active = navigator.userActivation ? navigator.userActivation.hasBeenActive : true;
    $("touch-hint").hidden = !(sg.enabled && !active);
  }
  $("enable").addEventListener("click", () => {
    setEnabled(!sg.enabled);
    if (sg.enabled) unlock();
  });
  document.addEventListener("pointerdown", (ev) => {
    if (sg.enabled && !ev.target.closest("#enable")) unlock();
    setTimeout(renderTouchHint, 0);
  }, true);
  if (remembered()) setEnabled(true);

  // screen wake lock while the run is live, so the phone does not sleep in the armband. The
  // Screen Wake Lock API needs a secure context (https, or this computer): over plain http on
  // the LAN it is absent and the page says to raise the screen timeout instead.
  let lock = null;
  let requesting = false;
  function wantWake() {
    return !sg.finished && !sg.waiting && sg.session && (sg.session.state === "started" || sg.session.state === "running")
      && document.visibilityState === "visible";
  }
  async function wake() {
    if (!("wakeLock" in navigator) || !navigator.wakeLock) {
      sg.wakeLock = "unavailable";
      renderWake();
      return;
    }
    if (wantWake() && !lock && !requesting) {
      requesting = true;
      try {
        const l = await navigator.wakeLock.request("screen");
        lock = l;
        sg.wakeLock = "held";
        l.addEventListener("release", () => {
          if (lock === l) lock = null;
          sg.wakeLock = "released";
          renderWake();
        });
      } catch (e) {
        sg.wakeLock = "refused";
      } finally {
        requesting = false;
      }
      if (!wantWake() && lock) wake(); // the run ended while asking
    } else if (!wantWake() && lock) {
      const l = lock;
      lock = null;
      try { await l.release(); } catch (e) { /* already gone */ }
      sg.wakeLock = "released";
    }
    renderWake();
  }
  function renderWake() {
    const note = $("wake-note");
    const live = sg.session && (sg.session.state === "started" || sg.session.state === "running") && !sg.finished && !sg.waiting;
    note.hidden = !(live && (sg.wakeLock === "unavailable" || sg.wakeLock === "refused"));
  }
  document.addEventListener("visibilitychange", () => { wake(); });

  // ------------------------------------------------------------------ rendering
  // times as the runner reads them: m:ss, h:mm:ss from an hour on (strideguard.live.updates.run_clock)
  const clock = (seconds) => {
    if (seconds === null || seconds === undefined || !isFinite(seconds) || seconds < 0) return "–:––";
    const whole = Math.floor(seconds);
    const h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
    const ss = String(s).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + ss : m + ":" + ss;
  };
  window.__sgClock = clock;
  const fmt = (v, digits, sign) => {
    if (v === null || v === undefined || !isFinite(v)) return "—";
    const s = Number(v).toFixed(digits);
    return sign && v > 0 ? "+" + s : s;
  };
  function orderedSensors() {
    return [...sg.sensors.entries()].sort((a, b) => ((a[1].leg || "~") + a[0]).localeCompare((b[1].leg || "~") + b[0]));
  }
  function legName(leg, name) {
    return leg === "L" ? "Left" : leg === "R" ? "Right" : name;
  }
  function renderQuestion() {
    const box = $("question");
    const d = sg.question;
    box.hidden = !d;
    if (!d) return;
    $("question-text").textContent = d.text;
    $("question-buttons").hidden = Boolean(d.answered);
    $("question-advice").textContent = d.answered ? d.advice || "" : "";
    box.className = "question" + (d.answered ? " answered-" + d.answered : "");
  }
  $("question-buttons").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-answer]");
    if (!b || !sg.question || sg.question.answered) return;
    const id = sg.question.id;
    fetch("action/answer" + q, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Strideguard": "1" },
      body: JSON.stringify({ id: id, answer: b.dataset.answer }),
    }).then((r) => r.ok ? r.json() : null).then((res) => {
      if (res && sg.question && sg.question.id === id) {
        sg.question = Object.assign({}, sg.question, { answered: res.answered, advice: res.advice });
        renderQuestion();
      }
    }).catch(() => { /* the next reconnect replays the question */ });
  });
  function render() {
    renderQuestion();
    renderAlerts();
    renderSensors();
    renderLinks();
    renderCalibration();
    renderBaseline();
    renderEnded();
    renderClock();
    renderWake();
    $("session").textContent = sg.session ? sg.session.message : "waiting for the run…";
  }
  function runSeconds() {
    // the host sends the run time every 2 s; the page ticks in between (at most 3 s ahead, so
    // a run whose sensors went quiet stops counting), never backwards within a run
    const r = sg.runTime;
    if (!r) return null;
    const ahead = r.ticking && sg.conn === "live" ? Math.min((Date.now() - r.at) / 1000, 3) : 0;
    r.shown = Math.max(r.shown || 0, r.s + ahead);
    return r.shown;
  }
  function renderClock() {
    const s = runSeconds();
    $("elapsed").hidden = s === null;
    $("elapsed-value").textContent = clock(s);
  }
  function renderAlerts() {
    const list = [...sg.alerts.values()].sort((a, b) => (SEV[b.severity] - SEV[a.severity]) || (b.time_s - a.time_s));
    const banner = $("banner");
    const top = list[0];
    if (!top) {
      banner.hidden = true;
      document.body.classList.remove("alarm");
    } else {
      banner.hidden = false;
      banner.className = "banner sev-" + top.severity;
      document.body.classList.toggle("alarm", top.severity === "stop");
      $("banner-title").textContent = top.title;
      $("banner-reason").textContent = top.reason;
      $("banner-advice").textContent = top.advice;
      const leg = top.leg ? legName(top.leg) + " leg · " : "";
      $("banner-meta").textContent = leg + top.state + " at " + clock(top.time_s);
    }
    // what the sensors' motors play for it ("Buzzing the stop pattern on your right shin")
    const buzz = [...sg.haptics.values()].filter((h) => top && (h.kind === top.kind || h.action === "link_lost"));
    $("banner-haptic").hidden = buzz.length === 0;
    $("banner-haptic").textContent = buzz.map((h) => "📳 " + h.message).join(" · ");
    renderAcknowledge(top);
    const more = $("more-alerts");
    more.textContent = "";
    for (const a of list.slice(1)) {
      const li = document.createElement("li");
      li.className = "sev-" + a.severity;
      li.textContent = clock(a.time_s) + " · " + a.title + (a.advice ? " — " + a.advice : "");
      more.appendChild(li);
    }
  }
  // the big "Acknowledge" button: the host stops the alert's reminders (like the sensor's long press)
  function renderAcknowledge(top) {
    const b = $("ack");
    const key = top ? top.sensor + "|" + top.kind : null;
    b.hidden = !top || !sg.canAcknowledge || sg.finished || sg.waiting;
    if (b.hidden) return;
    const done = top.state === "acknowledged";
    b.disabled = done || sg.acknowledging === key;
    b.dataset.key = key;
    b.textContent = done ? "✓ Acknowledged: no more reminders" : sg.acknowledging === key ? "Acknowledging…" : "Acknowledge";
    b.classList.toggle("done", done);
  }
  $("ack").addEventListener("click", () => {
    const b = $("ack");
    const a = sg.alerts.get(b.dataset.key || "");
    if (!a || a.state === "acknowledged") return;
    const key = a.sensor + "|" + a.kind;
    sg.acknowledging = key;
    renderAlerts();
    fetch("action/acknowledge" + q, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Strideguard": "1" },
      body: JSON.stringify({ sensor: a.sensor, kind: a.kind }),
    }).then((r) => r.ok ? r.json() : null).then((res) => {
      // the host's "acknowledged" event updates the banner; without one, allow another try
      if (!res || !res.ok) { if (sg.acknowledging === key) sg.acknowledging = null; renderAlerts(); }
    }).catch(() => { if (sg.acknowledging === key) sg.acknowledging = null; renderAlerts(); });
  });
  function renderEnded() {
    const now = Date.now();
    sg.ended = sg.ended.filter((e) => e.until > now);
    const more = $("more-alerts");
    more.querySelectorAll("li.ended").forEach((li) => li.remove());
    for (const e of sg.ended) {
      const li = document.createElement("li");
      li.className = "ended";
      li.textContent = "✓ " + clock(e.alert.time_s) + " · " + e.alert.title + ": " + e.alert.reason;
      more.appendChild(li);
    }
  }
  function renderSensors() {
    const main = $("sensors");
    const tpl = $("sensor-tpl");
    for (const [name, s] of orderedSensors()) {
      let card = main.querySelector('[data-sensor="' + CSS.escape(name) + '"]');
      if (!card) {
        card = tpl.content.firstElementChild.cloneNode(true);
        card.dataset.sensor = name;
        main.appendChild(card);
      }
      card.querySelector(".sensor-name").textContent = legName(s.leg, name);
      const m = (s.stride && s.stride.metrics) || {};
      const set = (k, v) => { card.querySelector('[data-m="' + k + '"]').textContent = v; };
      set("cadence", fmt(m.cadence_spm, 0));
      set("angle", fmt(m.shank_angle_at_ic_deg, 1, true) + (m.shank_angle_at_ic_deg == null ? "" : "°"));
      set("shock", (m.peak_tibial_accel_clipped ? "≥" : "") + fmt(m.peak_tibial_accel_g, 1));
      const late = m.late_swing_duration_s == null ? "—" : fmt(1000 * m.late_swing_duration_s, 0) + " ms";
      set("late", late);
      set("decel", m.late_swing_peak_decel_dps2 == null ? "—" : fmt(m.late_swing_peak_decel_dps2 / 1000, 1));
    }
    // keep the DOM order equal to the sorted order
    for (const [name] of orderedSensors()) {
      const card = main.querySelector('[data-sensor="' + CSS.escape(name) + '"]');
      if (card) main.appendChild(card);
    }
    renderStale();
  }
  function renderStale() {
    const now = Date.now();
    for (const [name, s] of sg.sensors) {
      const card = $("sensors").querySelector('[data-sensor="' + CSS.escape(name) + '"]');
      if (card) card.classList.toggle("stale", !s.stride || now - s.strideAt > STALE_MS || sg.conn !== "live");
    }
  }
  function renderLinks() {
    const el = $("links");
    el.textContent = "";
    for (const [name, s] of orderedSensors()) {
      if (!s.link) continue;
      const l = s.link;
      const chip = document.createElement("span");
      chip.className = "chip link-" + l.state;
      chip.textContent = (s.leg || name) + " " + l.state;
      if (l.battery_pct != null) {
        const b = document.createElement("span");
        b.textContent = " · battery " + l.battery_pct + "%";
        if (l.battery_pct <= 20) b.className = "low";
        chip.appendChild(b);
      }
      if (l.loss_pct > 0) chip.appendChild(document.createTextNode(" · " + fmt(l.loss_pct, 1) + "% lost"));
      el.appendChild(chip);
    }
  }
  function renderCalibration() {
    const now = Date.now();
    const asking = orderedSensors().map((e) => e[1].calibration).filter((c) => c && (c.state === "stand_still"
      || (c.state === "ready" && !c.replay && now - sensor(c.sensor).calAt < 4000)));
    const box = $("calibration");
    box.hidden = asking.length === 0;
    box.classList.toggle("ready", asking.length > 0 && asking.every((c) => c.state === "ready"));
    if (asking.length && asking.every((c) => c.state === "ready")) {
      $("calib-msg").textContent = asking[0].message || "Standing measured: start running.";
      $("calib-count").textContent = "✓";
    } else if (asking.length) {
      asking.sort((a, b) => (a.state === "ready") - (b.state === "ready"));
      const c = asking[0];
      $("calib-msg").textContent = c.message || "Stand still…";
      const s = sensor(c.sensor);
      if (c.seconds_left != null) {
        const left = Math.max(0, Math.ceil(c.seconds_left - (Date.now() - s.calAt) / 1000));
        $("calib-count").textContent = String(left);
      } else {
        $("calib-count").textContent = "";
      }
    }
    const states = orderedSensors().map((e) => e[1].calibration).filter((c) => c);
    const note = $("calibrated");
    if (states.some((c) => c.state === "skipped")) note.textContent = "angles relative (not calibrated)";
    else if (states.length && states.every((c) => c.state === "done")) note.textContent = "✓ calibrated";
    else note.textContent = "";
  }

  function renderBaseline() {
    // "using your baseline from 3 Dec" / "learning your normal: 2:00 left", per leg
    const parts = orderedSensors().filter((e) => e[1].baseline)
      .map((e) => (e[1].leg ? e[1].leg + ": " : "") + e[1].baseline.message);
    $("normal").textContent = parts.join(" · ");
    // left/right symmetry (two sensors): rolling symmetry index, right against left
    const sym = sg.symmetry;
    const labels = { contact_time_s: "contact", peak_midswing_gyr_dps: "mid-swing",
      late_swing_peak_decel_dps2: "braking", shank_angle_at_ic_deg: "tibia at IC", peak_tibial_accel_g: "shock" };
    if (!sym) { $("symmetry").textContent = ""; return; }
    const items = Object.entries(labels).filter(([k]) => sym.indices[k] != null)
      .map(([k, l]) => l + " " + (sym.indices[k] > 0 ? "+" : "") + fmt(sym.indices[k], 1) + (k === "shank_angle_at_ic_deg" ? "°" : "%"));
    $("symmetry").textContent = "R vs L (" + sym.state + "): " + items.join(", ");
  }

  connect(false);
  wake();
})();
