// sync178 operator page (served as /static/app.js; no other script, no
// external resource). Two things:
// 1. Live: listens to /events (server-sent events, one per batch the hub
//    applies) and swaps in the page's main content, fetched again with
//    ?fragment=main. No full reload; at most one fetch in flight.
// 2. The unit finder in the header, filled from the JSON API /api/units.
(function () {
  'use strict';
  var body = document.body;
  var main = document.getElementById('main');
  var live = document.getElementById('live');
  var shown = body.getAttribute('data-checkpoint');
  var busy = false;
  var again = false;

  function fragmentUrl() {
    var u = new URL(window.location.href);
    u.searchParams.set('fragment', 'main');
    u.hash = '';
    return u.toString();
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(fragmentUrl(), { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (r) {
        if (!r.ok) { throw new Error('HTTP ' + r.status); }
        return r.text();
      })
      .then(function (html) {
        main.innerHTML = html;
        body.setAttribute('data-refreshed', String(Date.now()));
        if (live) { live.classList.remove('stale'); }
      })
      .catch(function () { if (live) { live.classList.add('stale'); } })
      .then(function () {
        busy = false;
        if (again) { again = false; setTimeout(refresh, 250); }
      });
  }

  if (main && live && window.EventSource) {
    var es = new EventSource('/events');
    es.addEventListener('changed', function (e) {
      if (e.data === shown) { return; }
      shown = e.data;
      body.setAttribute('data-checkpoint', shown);
      refresh();
    });
    es.onopen = function () { live.classList.add('on'); };
    es.onerror = function () { live.classList.remove('on'); };
  }

  var input = document.getElementById('goto');
  var list = document.getElementById('units-list');
  var units = null;
  function loadUnits() {
    if (units !== null || !list) { return; }
    units = [];
    fetch('/api/units', { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : { units: [] }; })
      .then(function (j) {
        units = j.units || [];
        units.forEach(function (u) {
          var o = document.createElement('option');
          o.value = u.name + ' (' + u.unit + ')';
          list.appendChild(o);
        });
      })
      .catch(function () { units = null; });
  }
  if (input) {
    input.addEventListener('focus', loadUnits);
    input.addEventListener('change', function () {
      var v = input.value.trim();
      var m = /\(([cdp][0-9]+)\)$/.exec(v);
      var id = m ? m[1] : null;
      if (!id && units) {
        var low = v.toLowerCase();
        units.forEach(function (u) { if (!id && (u.name.toLowerCase() === low || u.unit === low)) { id = u.unit; } });
      }
      if (!id) { return; }
      var period = new URL(window.location.href).searchParams.get('period');
      window.location.href = '/unit/' + encodeURIComponent(id) + (period ? '?period=' + encodeURIComponent(period) : '');
    });
  }
})();
