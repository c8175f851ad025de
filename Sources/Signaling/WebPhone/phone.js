// Tieline web phone. Speaks the browser signaling protocol, version 1
// (docs: signaling-protocol.md) over a WebSocket at /ws on the same origin.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    loginForm: $('login-form'), user: $('user'), password: $('password'),
    login: $('login'), logout: $('logout'), loginError: $('login-error'),
    phone: $('phone'), whoami: $('whoami'), dialForm: $('dial-form'),
    number: $('number'), call: $('call'), hangup: $('hangup'), mute: $('mute'), hold: $('hold'), transfer: $('transfer'),
    dialpad: $('dialpad'), status: $('status'), duration: $('duration'),
    message: $('message'), incoming: $('incoming'), incomingFrom: $('incoming-from'),
    accept: $('accept'), reject: $('reject'), decline: $('decline'),
    micLevel: $('mic-level'), speakerLevel: $('speaker-level'),
    remoteAudio: $('remote-audio'), connection: $('connection'),
  };

  const PING_MS = 25000;
  const ICE_WAIT_MS = 2000;
  const BACKOFF_MAX_S = 30;
  const LOCKOUT_S = 60; // the server refuses logins for 60 s after too many failures
  const DTMF_KEYS = '0123456789*#ABCD';
  const USER_KEY = 'tieline.user';
  const MIC = { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } };

  // Final SIP statuses in words: [short form for the status line, sentence for the message line].
  const NO_ROUTE = ['No route / unavailable', 'No route / unavailable: this number cannot be reached right now.'];
  const HANGUPS = {
    200: ['Call ended', 'Call ended.'],
    403: ['Not allowed', 'Not allowed: you may not call this number.'],
    404: NO_ROUTE, 480: NO_ROUTE, 503: NO_ROUTE,
    408: ['No answer', 'No answer: nobody picked up.'],
    486: ['Busy', 'Busy: the number you called is on another call.'],
    487: ['Cancelled', 'Cancelled: the call was cancelled.'],
    488: ['Media refused', 'Media refused: the other side could not accept the audio.'],
    603: ['Declined', 'Declined: the person you called declined the call.'],
  };
  const ERRORS = {
    400: 'The gateway did not accept the request',
    401: 'Not signed in',
    403: 'Not allowed',
    481: 'This call no longer exists',
    486: 'Too many calls: finish another call first',
    488: 'Media refused: the gateway cannot use this browser\'s audio offer',
  };

  // Everything the page knows; one object so tests and debugging see one truth.
  const app = {
    ws: null,
    creds: null,          // {user, password}: memory only, never stored
    welcomed: false,      // true once this set of credentials has been accepted
    loggingOut: false,
    iceServers: [],
    backoff: 1,
    reconnectTimer: 0,
    pingTimer: 0,
    loginFailure: null,   // error received just before a 4401/4429 close
    callSeq: 0,           // never reset, so ids stay unique across reconnects too
    call: null,           // the one current call (see newCall)
    ringing: null,        // incoming call waiting for Accept / Reject
    state: 'idle',
    audioCtx: null,
  };

  window.tieline = {
    get pc() { return app.call ? app.call.pc : null; },
    get ws() { return app.ws; },
    get state() { return app.state; },
    get callId() { return app.call ? app.call.id : null; },
    get connection() { return el.connection.textContent; },
    stats: async () => {
      const pc = app.call && app.call.pc;
      return pc ? await pc.getStats() : null;
    },
  };

  // ---- small UI helpers -------------------------------------------------

  function setStatus(word, detail) {
    app.state = word;
    el.status.textContent = detail ? `${word}: ${detail}` : word;
    updateButtons();
  }

  function say(text) { el.message.textContent = text || ''; }

  function setConnection(word) {
    el.connection.textContent = word;
    el.connection.dataset.state = word;
  }

  function updateButtons() {
    const c = app.call;
    el.call.disabled = Boolean(c);
    el.hangup.disabled = !c;
    el.mute.disabled = !c || !c.stream;
    el.hold.disabled = !c || !c.answered || c.holdPending;
    el.hold.setAttribute('aria-pressed', String(Boolean(c && c.held)));
    el.hold.textContent = c && c.held ? 'Resume' : 'Hold';
    el.transfer.disabled = !c || !c.answered || c.transferPending;
    el.number.readOnly = Boolean(c);
  }

  function showPhone(on) {
    el.phone.hidden = !on;
    el.loginForm.hidden = on;
  }

  function loginFailed(text) {
    app.creds = null;
    app.welcomed = false;
    showPhone(false);
    el.loginError.textContent = text;
    el.password.value = '';
    el.login.disabled = false;
    el.password.focus();
  }

  function rememberUser(user) {
    try { localStorage.setItem(USER_KEY, user); } catch (_) { /* storage may be blocked */ }
  }

  function hangupWords(code, reason) {
    return HANGUPS[code] || [reason || `Failed (${code})`,
      `The call failed: ${reason || 'no reason given'} (${code}).`];
  }

  function errorWords(code, reason) {
    const plain = ERRORS[code];
    if (!plain) return reason ? `Error: ${reason} (${code})` : `Error ${code}`;
    return reason && !plain.toLowerCase().includes(reason.toLowerCase())
      ? `${plain} (${reason}).` : `${plain}.`;
  }

  function micWords(err) {
    if (!navigator.mediaDevices) return 'The microphone needs a secure page: open the phone over https.';
    if (err && (err.name === 'NotAllowedError' || err.name === 'SecurityError')) {
      return 'Microphone refused: allow microphone access for this page and try again.';
    }
    if (err && err.name === 'NotFoundError') return 'No microphone was found.';
    if (err && err.name === 'NotReadableError') return 'The microphone is in use by another program.';
    return `The microphone could not be opened${err && err.message ? `: ${err.message}` : ''}.`;
  }

  // ---- WebSocket connection and login ------------------------------------

  function socketUrl() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/ws`;
  }

  function send(obj) {
    const ws = app.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(obj));
    return true;
  }

  function connect() {
    clearTimeout(app.reconnectTimer);
    clearInterval(app.pingTimer);
    if (!app.creds) return;
    app.loginFailure = null;
    setConnection('connecting');
    let ws;
    try {
      ws = new WebSocket(socketUrl(), 'tieline.v1');
    } catch (err) {
      scheduleReconnect();
      return;
    }
    app.ws = ws;
    // Handlers check `app.ws === ws` so a socket we gave up on cannot act later.
    ws.onopen = () => {
      if (app.ws !== ws) return;
      send({ type: 'login', user: app.creds.user, password: app.creds.password });
      app.pingTimer = setInterval(() => send({ type: 'ping' }), PING_MS);
    };
    ws.onmessage = (ev) => {
      if (app.ws !== ws) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (_) { return; }
      if (msg && typeof msg.type === 'string') handle(msg);
    };
    ws.onclose = (ev) => { if (app.ws === ws) closed(ev.code); };
  }

  function closed(code) {
    clearInterval(app.pingTimer);
    app.ws = null;
    setConnection('disconnected');
    endCall('Connection lost', null, false);
    dropRinging();
    if (app.loggingOut || !app.creds) return;

    const failure = app.loginFailure;
    if (code === 4401 || (failure && failure.code === 401)) {
      loginFailed('Wrong user name or password.');
    } else if (code === 4429 || (failure && failure.code === 429)) {
      if (!app.welcomed) {
        loginFailed('Too many sign-in attempts. Wait a minute, then try again.');
      } else {
        // We were signed in with good credentials: someone else on this address
        // tripped the limit, so wait it out rather than add to it.
        say('Too many sign-in attempts from this address; trying again in a minute…');
        app.reconnectTimer = setTimeout(connect, LOCKOUT_S * 1000);
      }
    } else {
      scheduleReconnect();
    }
  }

  function scheduleReconnect() {
    const s = app.backoff;
    app.backoff = Math.min(app.backoff * 2, BACKOFF_MAX_S);
    const text = `Connection lost: reconnecting in ${s} s…`;
    if (app.welcomed) {
      say(text);
    } else {
      el.loginError.textContent = `Cannot reach the gateway: retrying in ${s} s…`;
      el.login.disabled = false; // the user may correct the details meanwhile
    }
    app.reconnectTimer = setTimeout(connect, s * 1000);
  }

  function welcome(msg) {
    app.iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : [];
    const wasWelcomed = app.welcomed;
    app.welcomed = true;
    app.backoff = 1;
    setConnection('connected');
    el.whoami.textContent = msg.user || app.creds.user;
    el.loginError.textContent = '';
    el.password.value = '';
    el.login.disabled = false;
    rememberUser(app.creds.user);
    showPhone(true);
    // After a reconnect keep showing how the last call ended ("ended: Connection lost").
    if (!wasWelcomed && !app.call) setStatus('idle');
    say(wasWelcomed ? 'Reconnected.' : '');
  }

  function onLogin(ev) {
    ev.preventDefault();
    const user = el.user.value.trim();
    const password = el.password.value;
    if (!user || !password) { el.loginError.textContent = 'Enter your user name and password.'; return; }
    audioContext(); // created inside a click, so autoplay rules let it run
    app.creds = { user, password };
    app.welcomed = false;
    app.loggingOut = false;
    app.backoff = 1;
    el.loginError.textContent = '';
    el.login.disabled = true;
    if (app.ws) { const old = app.ws; app.ws = null; old.close(1000); }
    connect();
  }

  function onLogout() {
    app.loggingOut = true;
    endCall('Signed out', '', true);
    dropRinging();
    clearTimeout(app.reconnectTimer);
    clearInterval(app.pingTimer);
    const ws = app.ws;
    app.ws = null;
    if (ws) ws.close(1000, 'logout');
    app.creds = null;
    app.welcomed = false;
    setConnection('disconnected');
    setStatus('idle');
    say('');
    showPhone(false);
    el.user.focus();
  }

  // ---- messages from the server -----------------------------------------

  function handle(msg) {
    const c = app.call && app.call.id === msg.call ? app.call : null;
    switch (msg.type) {
      case 'welcome': welcome(msg); break;
      case 'pong': break;
      case 'error': onError(msg, c); break;
      case 'incoming': onIncoming(msg); break;
      case 'trying': if (c) setStatus('calling', 'trying…'); break;
      case 'ringing': if (c) setStatus('ringing'); break;
      case 'progress': if (c) onProgress(c, msg); break;
      case 'answered': if (c) onAnswered(c, msg); break;
      case 'hangup': onHangup(msg, c); break;
      case 'dtmf': if (c && msg.digit) say(`Received tone ${msg.digit}`); break;
      case 'held': case 'unheld': if (c) onHeld(c, msg.type === 'held'); break;
      case 'transferred': if (c) { c.transferred = true; c.transferPending = false; } break;
      default: break; // newer message types: ignore, as the protocol asks
    }
  }

  function onError(msg, c) {
    const text = errorWords(msg.code, msg.reason);
    if (!app.welcomed && !msg.call && (msg.code === 401 || msg.code === 429)) {
      app.loginFailure = { code: msg.code }; // the close (4401/4429) follows
      return;
    }
    if (app.ringing && app.ringing.id === msg.call) { dropRinging(); say(text); return; }
    // An error naming a call without media means it never started (or the server lost it, 481).
    // Once media flows (early media or answered) an error concerns only that
    // request, a DTMF say; the call itself ends with the server's hangup.
    if (c && ((!c.answered && !c.media) || msg.code === 481)) {
      endCall(msg.code === 486 ? 'Too many calls' : (msg.reason || `Error ${msg.code}`), text, false);
      return;
    }
    if (c && c.holdPending) { c.holdPending = false; updateButtons(); }
    if (c && c.transferPending) { c.transferPending = false; updateButtons(); }
    say(text);
  }

  function onProgress(c, msg) {
    applyAnswer(c, msg.sdp);
    c.media = true;
    if (!c.answered) setStatus('ringing', 'early media');
  }

  function onAnswered(c, msg) {
    applyAnswer(c, msg.sdp);
    c.media = true;
    c.answered = true;
    c.answeredAt = Date.now();
    startTimer();
    setStatus('in call', c.peer);
    say('');
  }

  // The answer SDP never changes within a call, so only the first copy is applied.
  function applyAnswer(c, sdp) {
    if (c.dir !== 'out' || c.remoteApplied || !sdp) return;
    c.remoteApplied = true;
    c.pc.setRemoteDescription({ type: 'answer', sdp }).catch((err) => {
      if (!c.ended) endCall('Media refused', `Media refused: the answer could not be used (${err.message}).`, true);
    });
  }

  function onHangup(msg, c) {
    if (app.ringing && app.ringing.id === msg.call) {
      dropRinging();
      const text = msg.code === 487 ? 'Missed call: the caller hung up.'
        : msg.code === 200 ? 'Answered elsewhere.'
        : `The call ended: ${msg.reason || msg.code}.`;
      setStatus('ended', msg.code === 487 ? 'Caller hung up' : msg.code === 200 ? 'Answered elsewhere' : (msg.reason || String(msg.code)));
      say(text);
      return;
    }
    if (!c) return;
    if (c.transferred) {
      endCall('Transferred', `Transferred to ${c.transferTarget}.`, false);
    } else if (c.dir === 'in' && !c.answered && msg.code === 200) {
      endCall('Answered elsewhere', 'Answered elsewhere.', false);
    } else if (c.dir === 'in' && msg.code === 487) {
      endCall('Caller hung up', 'The caller hung up.', false);
    } else {
      const [short, text] = hangupWords(msg.code, msg.reason);
      endCall(short, text, false);
    }
  }

  // ---- calls --------------------------------------------------------------

  function nextCallId() {
    app.callSeq += 1;
    return `c${app.callSeq}-${Math.random().toString(36).slice(2, 7)}`;
  }

  function newCall(id, dir, peer) {
    const c = { id, dir, peer, pc: null, stream: null, sent: false, remoteApplied: false,
      media: false, answered: false, answerSent: false, answeredAt: 0, ended: false, meters: [] };
    app.call = c;
    el.duration.textContent = '00:00';
    setMuted(false);
    return c;
  }

  async function openMic(c) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error('no-media-devices');
    const stream = await navigator.mediaDevices.getUserMedia(MIC);
    if (c.ended) { stream.getTracks().forEach((t) => t.stop()); return null; }
    c.stream = stream;
    c.meters.push(meter(stream, el.micLevel));
    updateButtons();
    return stream;
  }

  function makePeer(c, stream) {
    let pc;
    try { pc = new RTCPeerConnection({ iceServers: app.iceServers }); } catch (_) {
      pc = new RTCPeerConnection(); // a bad iceServers entry should not stop the call
    }
    c.pc = pc;
    stream.getAudioTracks().forEach((t) => pc.addTrack(t, stream));
    pc.ontrack = (ev) => {
      const remote = ev.streams[0] || new MediaStream([ev.track]);
      if (el.remoteAudio.srcObject === remote) return;
      el.remoteAudio.srcObject = remote;
      el.remoteAudio.play().catch(() => {});
      c.meters.push(meter(remote, el.speakerLevel));
    };
    // Candidates found after the SDP went out are trickled; earlier ones are in it.
    pc.onicecandidate = (ev) => {
      if (!c.sent || c.ended) return;
      send({ type: 'candidate', call: c.id, candidate: ev.candidate ? ev.candidate.toJSON() : null });
    };
    return pc;
  }

  function iceGathered(pc) {
    return new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') { resolve(); return; }
      const timer = setTimeout(resolve, ICE_WAIT_MS);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
      });
    });
  }

  async function startCall() {
    const to = el.number.value.trim();
    if (app.call) return;
    if (app.ringing) { say('Answer or reject the incoming call first.'); return; }
    if (!to) { say('Enter a number to call.'); el.number.focus(); return; }
    if (!app.ws || !app.welcomed || el.connection.textContent !== 'connected') {
      say('Not connected to the gateway yet.'); return;
    }
    resumeAudio();
    const c = newCall(nextCallId(), 'out', to);
    setStatus('calling', to);
    say('');
    try {
      const stream = await openMic(c);
      if (!stream) return;
      const pc = makePeer(c, stream);
      await pc.setLocalDescription(await pc.createOffer());
      await iceGathered(pc);
      if (c.ended) return;
      if (!send({ type: 'call', call: c.id, to, sdp: pc.localDescription.sdp })) {
        endCall('Connection lost', 'Connection lost: the call could not be placed.', false);
        return;
      }
      c.sent = true;
    } catch (err) {
      if (c.ended) return;
      const isMic = !c.stream;
      endCall(isMic ? 'Microphone refused' : 'Failed',
        isMic ? micWords(err) : `The call could not be set up: ${err.message}.`, true);
    }
  }

  // Ends the current call. `tell` says whether the server still needs to hear of it.
  function endCall(detail, text, tell) {
    const c = app.call;
    if (!c) return;
    c.ended = true;
    app.call = null;
    if (tell && c.sent) {
      send(c.dir === 'in' && !c.answerSent ? { type: 'reject', call: c.id, code: 486 }
        : { type: 'hangup', call: c.id });
    }
    c.meters.forEach((stop) => stop());
    if (c.pc) c.pc.close();
    if (c.stream) c.stream.getTracks().forEach((t) => t.stop());
    el.remoteAudio.srcObject = null;
    stopTimer();
    setMuted(false);
    setStatus('ended', detail);
    if (text !== null) say(text);
  }

  function onHangupClick() {
    endCall('Hung up', '', true);
  }

  // ---- incoming calls -----------------------------------------------------

  function onIncoming(msg) {
    if (!msg.call) return;
    // One call at a time: a second caller hears busy rather than waiting on a banner.
    if (app.call || app.ringing) { send({ type: 'reject', call: msg.call, code: 486 }); return; }
    send({ type: 'ringing', call: msg.call });
    const who = msg.fromName ? `${msg.fromName} (${msg.from || 'unknown'})` : (msg.from || 'unknown caller');
    app.ringing = { id: msg.call, sdp: msg.sdp, who };
    el.incomingFrom.textContent = who;
    el.incoming.hidden = false;
    setStatus('ringing', `incoming call from ${who}`);
    say('');
    el.accept.focus();
  }

  function dropRinging() {
    app.ringing = null;
    el.incoming.hidden = true;
  }

  function refuse(code) {
    const r = app.ringing;
    if (!r) return;
    dropRinging();
    send({ type: 'reject', call: r.id, code });
    setStatus('ended', code === 603 ? 'Declined' : 'Rejected');
    say('');
  }

  async function acceptCall() {
    const r = app.ringing;
    if (!r || app.call) return;
    dropRinging();
    resumeAudio();
    const c = newCall(r.id, 'in', r.who);
    c.sent = true; // the server knows this call: ending it early must send `reject`
    setStatus('ringing', 'answering…');
    try {
      const stream = await openMic(c);
      if (!stream) return;
      const pc = makePeer(c, stream);
      await pc.setRemoteDescription({ type: 'offer', sdp: r.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await iceGathered(pc);
      if (c.ended) return;
      send({ type: 'answer', call: c.id, sdp: pc.localDescription.sdp });
      c.answerSent = true; // `answered` from the server confirms it
    } catch (err) {
      if (c.ended) return;
      if (!c.stream) {
        // No microphone here: withdraw only this device (480), others may still ring.
        send({ type: 'reject', call: c.id, code: 480 });
        c.sent = false;
        endCall('Microphone refused', micWords(err), false);
      } else {
        endCall('Failed', `The call could not be answered: ${err.message}.`, true);
      }
    }
  }

  // ---- mute, DTMF, dial pad, keyboard --------------------------------------

  function setMuted(on) {
    const c = app.call;
    if (c && c.stream) c.stream.getAudioTracks().forEach((t) => { t.enabled = !on; });
    el.mute.setAttribute('aria-pressed', String(on));
    el.mute.textContent = on ? 'Unmute' : 'Mute';
  }

  // Hold: the server tells the far end (a re-INVITE) and plays it music;
  // our own audio and SDP stay as they are, the far end just stops hearing us.
  function toggleHold() {
    const c = app.call;
    if (!c || !c.answered || c.holdPending) return;
    if (send({ type: c.held ? 'unhold' : 'hold', call: c.id })) {
      c.holdPending = true;
      updateButtons();
    }
  }

  // Blind transfer: the far end is asked to call the target itself; our
  // call ends (transferred, then hangup) once it reports the new call answered.
  function startTransfer() {
    const c = app.call;
    if (!c || !c.answered || c.transferPending) return;
    const target = (window.prompt('Transfer this call to (number or user):') || '').trim();
    if (!target) return;
    if (send({ type: 'transfer', call: c.id, to: target })) {
      c.transferPending = true;
      c.transferTarget = target;
      say(`Transferring to ${target}...`);
      updateButtons();
    }
  }

  function onHeld(c, held) {
    c.held = held;
    c.holdPending = false;
    setStatus(held ? 'on hold' : 'in call', c.peer);
    updateButtons();
  }

  function sendDtmf(digit) {
    const c = app.call;
    if (!c) return;
    if (!c.media) { say('Tones can be sent once the call is connected.'); return; }
    if (send({ type: 'dtmf', call: c.id, digits: digit })) say(`Sent tone ${digit}`);
  }

  function pressDigit(digit) {
    if (app.call) { sendDtmf(digit); return; }
    el.number.value += digit;
  }

  function isTextField(t) {
    return t && t.matches && t.matches('input, textarea, select, [contenteditable="true"]');
  }

  function onKey(ev) {
    if (el.phone.hidden || ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
    const t = ev.target;
    const key = ev.key.length === 1 ? ev.key.toUpperCase() : ev.key;
    if (app.call) {
      if (key === 'Escape') { ev.preventDefault(); onHangupClick(); return; }
      // During a call the number field is read-only, so tones may come from it too.
      if (key.length === 1 && DTMF_KEYS.includes(key) && (!isTextField(t) || t === el.number)) {
        ev.preventDefault();
        sendDtmf(key);
      }
      return;
    }
    if (isTextField(t)) return; // the number field types (and submits on Enter) by itself
    if (/^[0-9*#+]$/.test(key)) { ev.preventDefault(); pressDigit(key); }
    else if (key === 'Backspace') { ev.preventDefault(); el.number.value = el.number.value.slice(0, -1); }
    else if (key === 'Enter' && t.tagName !== 'BUTTON') { ev.preventDefault(); startCall(); }
    else if (key === 'Escape' && app.ringing) { ev.preventDefault(); refuse(486); }
  }

  // ---- call timer -----------------------------------------------------------

  let timer = 0;
  function startTimer() {
    stopTimer();
    const tick = () => {
      const c = app.call;
      if (!c || !c.answeredAt) return;
      const s = Math.floor((Date.now() - c.answeredAt) / 1000);
      el.duration.textContent = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
    };
    tick();
    timer = setInterval(tick, 250);
  }
  function stopTimer() { clearInterval(timer); timer = 0; }

  // ---- level meters ---------------------------------------------------------

  function audioContext() {
    if (!app.audioCtx) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (Ctx) app.audioCtx = new Ctx();
    }
    return app.audioCtx;
  }

  function resumeAudio() {
    const ctx = audioContext();
    if (ctx && ctx.state === 'suspended') ctx.resume().catch(() => {});
  }

  // Shows a stream's RMS level on a <meter>, in dB from -60 to 0 so speech
  // looks like speech; returns a function that stops it.
  function meter(stream, bar) {
    const ctx = audioContext();
    if (!ctx || !stream.getAudioTracks().length) return () => {};
    const source = ctx.createMediaStreamSource(stream);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    // A silent path to the output keeps every browser pulling audio through the analyser.
    const sink = ctx.createGain();
    sink.gain.value = 0;
    source.connect(analyser);
    analyser.connect(sink);
    sink.connect(ctx.destination);
    const data = new Float32Array(analyser.fftSize);
    const id = setInterval(() => {
      analyser.getFloatTimeDomainData(data);
      let sum = 0;
      for (let i = 0; i < data.length; i += 1) sum += data[i] * data[i];
      const rms = Math.sqrt(sum / data.length);
      const db = rms > 0 ? 20 * Math.log10(rms) : -100;
      bar.value = Math.max(0, Math.min(1, (db + 60) / 60));
    }, 100);
    return () => {
      clearInterval(id);
      source.disconnect();
      analyser.disconnect();
      sink.disconnect();
      bar.value = 0;
    };
  }

  // ---- wiring -----------------------------------------------------------------

  function init() {
    try { el.user.value = localStorage.getItem(USER_KEY) || ''; } catch (_) { /* blocked */ }
    (el.user.value ? el.password : el.user).focus();
    el.loginForm.addEventListener('submit', onLogin);
    el.logout.addEventListener('click', onLogout);
    el.dialForm.addEventListener('submit', (ev) => { ev.preventDefault(); startCall(); });
    el.hangup.addEventListener('click', onHangupClick);
    el.mute.addEventListener('click', () => setMuted(el.mute.getAttribute('aria-pressed') !== 'true'));
    el.hold.addEventListener('click', toggleHold);
    el.transfer.addEventListener('click', startTransfer);
    el.accept.addEventListener('click', acceptCall);
    el.reject.addEventListener('click', () => refuse(486));
    el.decline.addEventListener('click', () => refuse(603));
    el.dialpad.addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-digit]');
      if (b) pressDigit(b.dataset.digit);
    });
    document.addEventListener('keydown', onKey);
    setConnection('disconnected');
    setStatus('idle');
  }

  init();
})();
