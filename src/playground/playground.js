// The playground page's script (hand-written, no build step). It sends what is typed to
// POST /playground/messages, shows the replies, and asks GET /playground/messages?after=SEQ
// every few seconds for everything else Alfred sends (briefings, chore reminders, replies that
// came late). Text is only ever set with textContent, never parsed as HTML.
(function () {
  'use strict';

  var POLL_MS = 2000;
  var form = document.getElementById('composer');
  var from = document.getElementById('from');
  var message = document.getElementById('message');
  var send = document.getElementById('send');
  var transcript = document.getElementById('transcript');
  var status = document.getElementById('status');
  var lastSeq = Number(transcript.getAttribute('data-last-seq')) || 0;
  var shown = {};
  Array.prototype.forEach.call(transcript.querySelectorAll('li[data-seq]'), function (li) {
    shown[li.getAttribute('data-seq')] = true;
    localTime(li.querySelector('time'));
  });

  try {
    var remembered = window.localStorage.getItem('alfred-playground-from');
    if (remembered) { from.value = remembered; }
  } catch (ignored) { /* storage may be off; the default name stays */ }

  function localTime(time) {
    if (!time) { return; }
    var at = new Date(time.getAttribute('datetime'));
    if (!isNaN(at)) {
      time.textContent = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    }
  }

  function span(className, text) {
    var element = document.createElement('span');
    element.className = className;
    element.textContent = text;
    return element;
  }

  function render(entry) {
    var li = document.createElement('li');
    li.className = entry.kind;
    li.setAttribute('data-seq', String(entry.seq));
    var meta = document.createElement('div');
    meta.className = 'meta';
    meta.appendChild(span('who', entry.from));
    meta.appendChild(document.createTextNode(' → '));
    meta.appendChild(span('to', entry.to));
    meta.appendChild(document.createTextNode(' '));
    var time = document.createElement('time');
    time.setAttribute('datetime', entry.at);
    localTime(time);
    meta.appendChild(time);
    var text = document.createElement('p');
    text.className = 'text';
    text.textContent = entry.text;
    li.appendChild(meta);
    li.appendChild(text);
    return li;
  }

  // Adds the entries not shown yet, in feed order, and keeps the newest in view.
  function show(entries) {
    entries.slice().sort(function (a, b) { return a.seq - b.seq; }).forEach(function (entry) {
      if (shown[entry.seq]) { return; }
      shown[entry.seq] = true;
      transcript.appendChild(render(entry));
      if (entry.seq > lastSeq) { lastSeq = entry.seq; }
    });
    var last = transcript.lastElementChild;
    if (last) { last.scrollIntoView({ block: 'end' }); }
  }

  function poll() {
    fetch('/playground/messages?after=' + lastSeq, { headers: { accept: 'application/json' } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) { show(body.messages); } })
      .catch(function () { /* Alfred stopped or restarted; keep trying */ })
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var text = message.value.trim();
    var name = from.value.trim();
    if (!text || !name) { return; }
    try { window.localStorage.setItem('alfred-playground-from', name); } catch (ignored) { /* fine */ }
    send.disabled = true;
    status.textContent = 'Alfred is thinking…';
    fetch('/playground/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ from: name, text: text })
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result.ok) {
          status.textContent = result.body.error || 'Alfred did not take that.';
          return;
        }
        message.value = '';
        show([result.body.message].concat(result.body.replies));
        status.textContent = result.body.complete ? '' : 'Alfred is still working on it; the answer appears here when it comes.';
      })
      .catch(function () { status.textContent = 'Could not reach Alfred. Is it still running?'; })
      .then(function () {
        send.disabled = false;
        message.focus();
      });
  });

  poll();
}());
