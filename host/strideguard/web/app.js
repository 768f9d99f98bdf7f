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
  };
  window.__sg = sg;

  // ------------------------------------------------------------------ connection
  let es = null;
  function setConn(s, text) {
    sg.conn = s;
    const el = $("conn");
    el.className = "conn " + s;
    el.textContent = text || { live: "● live", connecting: "connecting…", reconnecting: "reconnecting…", denied: "no access", finished: "■ run finished" }[s] || s;
  }
  function connect(isRetry) {
    if (es) es.close();
    if (isRetry) sg.reconnects += 1;
    setConn(isRetry ? "reconnecting" : "connecting");
    es = new EventSource("events" + q);
    es.onopen = () => { sg.lastMsg = Date.now(); setConn("live"); };
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
  setInterval(() => {
    if (!sg.finished && sg.conn === "live" && Date.now() - sg.lastMsg > SILENT_MS) connect(true);
    renderStale();
    renderCalibration();
    renderEnded();
  }, 1000);
  window.addEventListener("online", () => { if (!sg.finished && sg.conn !== "live") connect(true); });

  // ------------------------------------------------------------------ events
  function sensor(name) {
    if (!sg.sensors.has(name)) sg.sensors.set(name, { leg: null, stride: null, link: null, calibration: null, strideAt: 0, calAt: 0 });
    return sg.sensors.get(name);
  }
  function handle(d) {
    switch (d.type) {
      case "reset":
        sg.sensors.clear();
        sg.alerts.clear();
        $("sensors").textContent = "";
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
      case "session":
        sg.session = d;
        if (d.state === "ended") finish();
        break;
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
          // an acknowledged alert stays on the screen, silently
          if (!d.replay && d.state !== "acknowledged") announce(d);
        }
        break;
      }
      default: return;
    }
    render();
  }

  // ------------------------------------------------------------------ sound & vibration
  function finish() {
    // the run is over: the server is about to stop, so stop listening instead of
    // showing "reconnecting…" for ever
    sg.finished = true;
    if (es) es.close();
    setConn("finished");
  }
  function announce(a) {
    const loud = (SEV[a.severity] || 0) >= SEV.coach || ANNOUNCED_NOTICES.has(a.kind);
    if (!sg.enabled || !loud) return;
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
  let wakeLock = null;
  $("enable").addEventListener("click", async () => {
    sg.enabled = !sg.enabled;
    const b = $("enable");
    b.classList.toggle("on", sg.enabled);
    b.textContent = sg.enabled ? "✓ Sound & vibration on (tap to mute)" : "Tap to enable sound & vibration";
    if (sg.enabled) {
      // a first sound and buzz inside the tap unlocks them for later alerts
      try { if (navigator.vibrate) navigator.vibrate(60); } catch (e) { /* ignore */ }
      try {
        if (window.speechSynthesis) speechSynthesis.speak(new SpeechSynthesisUtterance("Sound on"));
      } catch (e) { /* ignore */ }
      try { if (navigator.wakeLock) wakeLock = await navigator.wakeLock.request("screen"); } catch (e) { /* needs https */ }
    } else if (wakeLock) {
      wakeLock.release().catch(() => {});
      wakeLock = null;
    }
  });
  document.addEventListener("visibilitychange", async () => {
    if (document.visibilityState === "visible" && sg.enabled && navigator.wakeLock) {
      try { wakeLock = await navigator.wakeLock.request("screen"); } catch (e) { /* ignore */ }
    }
  });

  // ------------------------------------------------------------------ rendering
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
    renderEnded();
    $("session").textContent = sg.session ? sg.session.message : "waiting for the run…";
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
      const mins = Math.floor(top.time_s / 60), secs = Math.floor(top.time_s % 60);
      $("banner-meta").textContent = leg + top.state + " at " + mins + ":" + String(secs).padStart(2, "0");
    }
    // what the sensors' motors play for it ("Buzzing the stop pattern on your right shin")
    const buzz = [...sg.haptics.values()].filter((h) => top && (h.kind === top.kind || h.action === "link_lost"));
    $("banner-haptic").hidden = buzz.length === 0;
    $("banner-haptic").textContent = buzz.map((h) => "📳 " + h.message).join(" · ");
    const more = $("more-alerts");
    more.textContent = "";
    for (const a of list.slice(1)) {
      const li = document.createElement("li");
      li.className = "sev-" + a.severity;
      li.textContent = a.title + (a.advice ? " — " + a.advice : "");
      more.appendChild(li);
    }
  }
  function renderEnded() {
    const now = Date.now();
    sg.ended = sg.ended.filter((e) => e.until > now);
    const more = $("more-alerts");
    more.querySelectorAll("li.ended").forEach((li) => li.remove());
    for (const e of sg.ended) {
      const li = document.createElement("li");
      li.className = "ended";
      li.textContent = "✓ " + e.alert.title + ": " + e.alert.reason;
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
    const asking = orderedSensors().map((e) => e[1].calibration).filter((c) => c && c.state === "stand_still");
    const box = $("calibration");
    box.hidden = asking.length === 0;
    if (asking.length) {
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

  connect(false);
})();
