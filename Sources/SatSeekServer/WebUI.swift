/// The browser UI: plain HTML, CSS and JavaScript compiled into the binary (no build step, no npm).
/// Leaflet comes from Debian's `libjs-leaflet`, served under `/leaflet/`.
enum WebUI {
    /// The page.
    static let indexHTML = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>SatSeek</title>
        <link rel="stylesheet" href="/leaflet/leaflet.css">
        <link rel="stylesheet" href="/app.css">
        </head>
        <body data-state="loading">
        <header>
          <h1>SatSeek</h1>
          <span id="info">loading index…</span>
        </header>
        <main>
          <section id="query">
            <div id="modes">
              <button data-mode="image" class="active">Image</button>
              <button data-mode="sketch" hidden>Sketch</button>
              <button data-mode="text" hidden>Text</button>
            </div>
            <div id="panel-image" class="panel">
              <label id="drop">Drop an image here or <u>pick a file</u>
                <input id="file" type="file" accept="image/*,.tif,.tiff">
              </label>
              <img id="query-preview" alt="" hidden>
            </div>
            <div id="panel-text" class="panel" hidden>
              <form id="text-form"><input id="text-query" type="text" placeholder="harbor with many boats">
              <button type="submit">Search text</button>
              <label id="compose-row" hidden title="a composed query: the item, modified by the sentence">
                <input id="compose" type="checkbox" checked> like item <b id="compose-item"></b>, but…
                text weight <input id="text-weight" type="number" min="0" max="1" step="0.05" value="0.75"></label></form>
            </div>
            <div id="panel-sketch" class="panel" hidden>
              <canvas id="sketch" width="256" height="256"></canvas>
              <div><button id="sketch-clear">Clear</button> <button id="sketch-go">Search sketch</button></div>
            </div>
            <div id="feedback">
              <div class="fb-head"><b>Examples</b> <span id="fb-counts">0 👍 · 0 👎</span></div>
              <div id="fb-pos" class="fb-thumbs" title="relevant"></div>
              <div id="fb-neg" class="fb-thumbs" title="not relevant"></div>
              <div class="fb-actions">
                <button id="refine" disabled title="rank the archive by what you marked">Refine</button>
                <button id="fb-clear">Clear</button>
                <select id="learner" title="learner"><option value="auto">auto</option><option value="logistic">logistic</option><option value="rocchio">Rocchio</option></select>
              </div>
              <div class="fb-actions">
                <label>score ≥ <input id="threshold" type="number" step="0.05" min="-1" max="1" value="0.9"></label>
                <button id="find-all" disabled title="every item passing the score in the map view">Find all in this map view</button>
              </div>
              <div class="fb-actions">
                <button id="export" disabled title="the last refine or find-all as GeoJSON (QGIS)">Export GeoJSON</button>
                <button id="save" disabled title="keep the marked examples as a named collection">Save as collection</button>
              </div>
            </div>
            <div class="options">
              <label><input id="in-view" type="checkbox"> search only in this map view</label>
              <label>k <input id="k" type="number" min="1" max="500" value="24"></label>
              <label>near place <input id="near" type="text" placeholder="Jamestown, North Dakota"></label>
              <label>within km <input id="radius" type="number" min="1" max="20000" value="25"></label>
              <div class="dates"><label>from <input id="from" type="date"></label>
                <label>to <input id="to" type="date"></label></div>
              <details><summary>Basemap</summary>
                <label>XYZ tile URL (optional, needs internet)
                  <input id="xyz" type="text" placeholder="https://tile.openstreetmap.org/{z}/{x}/{y}.png"></label>
              </details>
            </div>
            <div id="status" role="status"></div>
          </section>
          <section id="map"></section>
          <section id="results"></section>
          <section id="item-detail" hidden></section>
        </main>
        <footer id="coords">move the pointer over the map for coordinates</footer>
        <script src="/leaflet/leaflet.js"></script>
        <script src="/app.js"></script>
        </body>
        </html>
        """#

    /// The style sheet.
    static let appCSS = #"""
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #1d2330; background: #f4f5f7;
               display: grid; grid-template-rows: auto 1fr auto; height: 100vh; }
        header { display: flex; gap: 1em; align-items: baseline; padding: .4em 1em; background: #1d2330; color: #fff; }
        header h1 { font-size: 1.2em; margin: 0; }
        main { display: grid; grid-template-columns: 300px 1fr 1fr; grid-template-rows: 1fr auto; gap: .6em; padding: .6em;
               min-height: 0; }
        #query { grid-row: 1 / 3; }
        #query { display: flex; flex-direction: column; gap: .6em; overflow: auto; }
        #modes button { padding: .3em .8em; border: 1px solid #8a93a6; background: #fff; border-radius: 4px; }
        #modes button.active { background: #2f6fde; color: #fff; border-color: #2f6fde; }
        #drop { display: block; border: 2px dashed #8a93a6; border-radius: 6px; padding: 1.5em .8em; text-align: center;
                cursor: pointer; background: #fff; }
        #drop.over { border-color: #2f6fde; background: #e8f0ff; }
        #drop input { display: none; }
        #query-preview { max-width: 100%; border-radius: 4px; }
        #sketch { background: #fff; border: 1px solid #8a93a6; touch-action: none; width: 256px; height: 256px; }
        .options { display: flex; flex-direction: column; gap: .3em; }
        .options input[type=text] { width: 100%; }
        #status { min-height: 1.4em; color: #444; }
        #status.error { color: #b00020; }
        #map { min-height: 300px; border-radius: 6px; }
        #results { display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: .5em;
                   align-content: start; overflow: auto; }
        .tile { background: #fff; border-radius: 4px; overflow: hidden; cursor: pointer; box-shadow: 0 1px 2px #0002;
                border: 2px solid transparent; }
        .tile:hover, .tile.hover { border-color: #ff7800; }
        .tile img { width: 100%; aspect-ratio: 1; object-fit: cover; display: block; }
        .region-frame { position: absolute; left: 0; top: 0; width: 100%; aspect-ratio: 1; pointer-events: none; }
        .region-box { position: absolute; border: 2px solid #ff7800; box-shadow: 0 0 0 1px #0008; box-sizing: border-box; }
        .tile .meta { padding: .2em .4em; font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
        .tile .score { font-weight: 600; }
        footer { padding: .2em 1em; font-size: 12px; color: #555; }
        #feedback { background: #fff; border-radius: 6px; padding: .5em; display: flex; flex-direction: column; gap: .4em; }
        .fb-thumbs { display: flex; flex-wrap: wrap; gap: 3px; min-height: 4px; }
        .fb-thumbs img { width: 36px; height: 36px; object-fit: cover; border-radius: 3px; cursor: pointer; }
        #fb-pos img { outline: 2px solid #2ca02c; } #fb-neg img { outline: 2px solid #d62728; }
        .fb-actions { display: flex; flex-wrap: wrap; gap: .3em; align-items: center; }
        #threshold { width: 5em; }
        .tile { position: relative; }
        .tile .vote { position: absolute; top: 3px; display: none; border: 0; border-radius: 3px; padding: 0 .25em;
                      background: #fffd; cursor: pointer; font-size: 15px; }
        .tile .up { left: 3px; } .tile .down { right: 3px; }
        .tile:hover .vote, .tile.pos .vote, .tile.neg .vote { display: block; }
        .tile.pos { border-color: #2ca02c; } .tile.neg { border-color: #d62728; opacity: .6; }
        .nomap { padding: 1em; color: #555; }
        .dates { display: flex; gap: .4em; } .dates input { width: 9.5em; }
        #item-detail { grid-column: 2 / 4; background: #fff; border-radius: 6px; padding: .5em .8em; }
        #item-detail h2 { font-size: 1.05em; margin: 0 0 .3em; }
        #item-detail dl { display: grid; grid-template-columns: auto 1fr; gap: 0 .8em; margin: 0; }
        #item-detail dt { color: #555; } #item-detail dd { margin: 0; }
        .dates-side { display: flex; gap: .6em; flex-wrap: wrap; margin-top: .4em; }
        .dates-side figure { margin: 0; text-align: center; font-size: 12px; cursor: pointer; }
        .dates-side img { width: 160px; height: 160px; object-fit: cover; border-radius: 4px; display: block; }
        .tile .where { padding: 0 .4em .2em; font-size: 11px; color: #555; white-space: nowrap; overflow: hidden;
                       text-overflow: ellipsis; }
        """#

    /// The client: query modes, results grid, map with footprints.
    static let appJS = #"""
        'use strict';
        const $ = (s) => document.querySelector(s);
        const state = { info: null, map: null, footprints: null, overlays: null, xyz: null, last: null,
                        labels: new Map(), lastFeedback: null };

        function setStatus(text, isError) {
          const s = $('#status'); s.textContent = text; s.className = isError ? 'error' : '';
        }

        function toLatLngs(ring) { return ring.map(p => [p[1], p[0]]); }

        function initMap() {
          if (typeof L === 'undefined') {
            $('#map').innerHTML = '<div class="nomap">Leaflet is not installed (Debian package libjs-leaflet); the map is off.</div>';
            return;
          }
          const map = L.map('map', { zoomSnap: 0.25, zoomAnimation: false, fadeAnimation: false }).setView([20, 0], 2);
          state.map = map;
          state.overlays = L.layerGroup().addTo(map);
          state.footprints = L.featureGroup().addTo(map);
          map.on('mousemove', e => {
            $('#coords').textContent = `lat ${e.latlng.lat.toFixed(5)}, lon ${e.latlng.lng.toFixed(5)}`;
          });
          const saved = localStorage.getItem('satseek.xyz') || '';
          $('#xyz').value = saved;
          setXYZ(saved);
          $('#xyz').addEventListener('change', e => { localStorage.setItem('satseek.xyz', e.target.value); setXYZ(e.target.value); });
        }

        function setXYZ(url) {
          if (!state.map) return;
          if (state.xyz) { state.map.removeLayer(state.xyz); state.xyz = null; }
          if (url) state.xyz = L.tileLayer(url, { maxZoom: 19, attribution: 'basemap: user-provided' }).addTo(state.map).bringToBack();
        }

        // The indexed scenes as one XYZ tile pyramid rendered by the server (GDAL reads only what each tile needs).
        function showScenes(scenes) {
          if (!state.map) return;
          let bounds = null;
          for (const s of scenes) {
            if (!s.bbox) continue;
            const b = L.latLngBounds([s.bbox[1], s.bbox[0]], [s.bbox[3], s.bbox[2]]);
            // A copy: extend() mutates.
            bounds = bounds ? bounds.extend(b) : L.latLngBounds(b.getSouthWest(), b.getNorthEast());
          }
          if (!bounds) return;
          state.sceneTiles = L.tileLayer('/api/tiles/{z}/{x}/{y}.png', { maxZoom: 22, bounds: bounds.pad(0.05),
            className: 'scene-tiles', attribution: 'scenes: SatSeek' }).addTo(state.overlays);
          state.map.fitBounds(bounds);
        }

        async function loadInfo() {
          const r = await fetch('/api/info');
          const info = await r.json();
          state.info = info;
          $('#info').textContent = `${info.items} items · ${info.model} · ${info.scenes.length} scenes`;
          document.querySelector('[data-mode=sketch]').hidden = !info.modes.sketch;
          document.querySelector('[data-mode=text]').hidden = !info.modes.text;
          showScenes(info.scenes);
        }

        function params() {
          const p = new URLSearchParams();
          p.set('k', $('#k').value || '24');
          if ($('#in-view').checked && state.map) p.set('bbox', state.map.getBounds().toBBoxString());
          const near = $('#near').value.trim();
          if (near) { p.set('near', near); p.set('radius_km', $('#radius').value || '25'); }
          if ($('#from').value) p.set('from', $('#from').value);
          if ($('#to').value) p.set('to', $('#to').value);
          return p;
        }

        // Where and when an item lies, in words: "Jamestown, North Dakota, United States (36 km) · 2009-08-18".
        function placeText(it, full) {
          const parts = [];
          if (it.place) parts.push((full ? [it.place, it.region, it.country] : [it.place, it.country]).filter(x => x).join(', ') +
                                   (it.placeDistanceKm !== undefined && it.placeDistanceKm !== null ? ` (${Math.round(it.placeDistanceKm)} km)` : ''));
          if (it.acquired) parts.push(it.acquired.slice(0, 10));
          return parts.join(' · ');
        }

        async function showItem(id) {
          const panel = $('#item-detail');
          try {
            const r = await fetch('/api/items/' + id);
            const it = await r.json();
            if (!r.ok) throw new Error(it.error.message);
            const rows = [['item', `${it.name} (#${it.id})`], ['class', it.className]];
            if (it.place) rows.push(['place', it.place], ['region', it.region || '—'], ['country', it.country || '—'],
                                    ['distance', `${it.placeDistanceKm} km from ${it.place}`]);
            if (it.address) rows.push(['address', it.address.displayName]);
            else if (it.addressError) rows.push(['address', 'unavailable: ' + it.addressError]);
            if (it.centre) rows.push(['coordinates', `lat ${it.centre[1].toFixed(5)}, lon ${it.centre[0].toFixed(5)}`]);
            rows.push(['acquired', it.acquired ? `${it.acquired.slice(0, 10)} (${it.acquiredSource})` : 'unknown']);
            if (it.stacItem) rows.push(['STAC item', it.stacItem]);
            for (const [k, v] of Object.entries(it.properties || {})) rows.push([k, v]);
            panel.innerHTML = '<h2>Item</h2><dl></dl>';
            const dl = panel.querySelector('dl');
            for (const [k, v] of rows) {
              const dt = document.createElement('dt'), dd = document.createElement('dd');
              dt.textContent = k; dd.textContent = v; dd.dataset.field = k; dl.append(dt, dd);
            }
            if (it.otherDates && it.otherDates.length) {
              const side = document.createElement('div'); side.className = 'dates-side';
              for (const o of [{ id: it.id, acquired: it.acquired, image: it.image, scene: it.scene }, ...it.otherDates]) {
                const fig = document.createElement('figure'); fig.dataset.id = o.id;
                fig.innerHTML = '<img alt=""><figcaption></figcaption>';
                fig.querySelector('img').src = o.image;
                fig.querySelector('figcaption').textContent = (o.acquired ? o.acquired.slice(0, 10) : 'undated') + (o.id === it.id ? ' (this)' : '');
                if (o.id !== it.id) fig.addEventListener('click', () => searchItem(o.id));
                side.appendChild(fig);
              }
              panel.insertAdjacentHTML('beforeend', '<h2>Same ground, other dates</h2>');
              panel.appendChild(side);
            }
            panel.hidden = false;
            document.body.dataset.item = String(it.id);
          } catch (e) { panel.hidden = true; }
        }

        async function run(label, request) {
          document.body.dataset.state = 'searching';
          setStatus(`searching ${label}…`);
          try {
            const r = await request();
            const body = await r.json();
            if (!r.ok) throw new Error(body.error ? body.error.message : r.statusText);
            render(body);
            const total = body.total !== undefined && body.total !== null && body.total !== body.results.length
              ? ` of ${body.total}` : '';
            setStatus(`${body.results.length}${total} results for ${label} in ${body.tookMs.toFixed(1)} ms` +
                      (body.scoring ? ` (${body.scoring})` : ''));
            document.body.dataset.state = 'done';
          } catch (e) {
            setStatus(e.message, true);
            document.body.dataset.state = 'error';
          }
        }

        function searchItem(id) {
          const p = params(); p.set('item', id);
          showItem(id);
          return run(`item ${id}`, () => fetch('/api/search?' + p));
        }

        function searchImage(blob, name) {
          state.lastImage = { blob, name };
          // The uploaded query is the first positive example when the analyst starts marking.
          if (state.labels.size === 0) { state.uploadPositive = { blob, name, url: URL.createObjectURL(blob) }; showLabels(); }
          const url = URL.createObjectURL(blob);
          const preview = $('#query-preview'); preview.src = url; preview.hidden = false;
          return run(name || 'image', () => fetch('/api/search/image?' + params(), {
            method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: blob }));
        }

        // After an item query the sentence can modify that item (a composed query) instead of replacing it.
        function offerComposition(id) {
          state.composeItem = id;
          $('#compose-item').textContent = '#' + id;
          $('#compose-row').hidden = false;
        }

        function searchText(query) {
          const p = params();
          let label = query;
          if (state.composeItem != null && $('#compose').checked) {
            p.set('item', state.composeItem); p.set('text_weight', $('#text-weight').value);
            label = `item ${state.composeItem} + "${query}"`;
          }
          return run(label, () => fetch('/api/search/text?q=' + encodeURIComponent(query) + '&' + p));
        }

        function searchSketch() {
          $('#sketch').toBlob(blob => run('sketch', () => fetch('/api/search/sketch?' + params(), {
            method: 'POST', headers: { 'Content-Type': 'image/png' }, body: blob })), 'image/png');
        }

        function render(body) {
          state.last = body;
          const grid = $('#results'); grid.innerHTML = '';
          if (state.footprints) state.footprints.clearLayers();
          const layers = {};
          if (body.mode === 'item' && body.query) offerComposition(body.query.id);
          if (body.mode === 'item' && body.query && state.labels.size === 0) {
            state.uploadPositive = null;
            state.labels.set(body.query.id, { label: 1, item: body.query }); showLabels();
          }
          if (state.map && body.query && body.query.footprint) {
            L.polygon(toLatLngs(body.query.footprint), { color: '#d62728', weight: 3, fill: false, className: 'footprint query-footprint' })
              .bindTooltip('query: ' + body.query.name).addTo(state.footprints);
          }
          for (const r of body.results) {
            const it = r.item;
            const tile = document.createElement('div');
            tile.className = 'tile result-tile'; tile.dataset.id = it.id;
            tile.title = `${it.name} (${it.className}) — click to search with it`;
            tile.dataset.className = it.className;
            tile.innerHTML = `<img loading="lazy" alt=""><button class="vote up" title="relevant">👍</button>` +
              `<button class="vote down" title="not relevant">👎</button>` +
              `<div class="meta"><span class="score">${r.score.toFixed(3)}</span> #${r.rank} ${it.className}</div>` +
              `<div class="where"></div>`;
            tile.querySelector('img').src = it.image;
            if (r.region) {  // sketch matched window by window: outline the window that matched
              const [x, y, w, h] = r.region.map(v => (100 * v).toFixed(1) + '%');
              const frame = document.createElement('div'); frame.className = 'region-frame';
              const box = document.createElement('div'); box.className = 'region-box';
              box.title = 'the part of the tile that matched the sketch';
              Object.assign(box.style, { left: x, top: y, width: w, height: h });
              frame.appendChild(box); tile.appendChild(frame);
            }
            tile.querySelector('.where').textContent = placeText(it, false);
            tile.addEventListener('click', () => searchItem(it.id));
            tile.querySelector('.up').addEventListener('click', e => { e.stopPropagation(); mark(it, 1); });
            tile.querySelector('.down').addEventListener('click', e => { e.stopPropagation(); mark(it, -1); });
            paintLabel(tile, it.id);
            grid.appendChild(tile);
            if (state.map && it.footprint) {
              const poly = L.polygon(toLatLngs(it.footprint), { color: '#ff7800', weight: 2, fillOpacity: 0.15, className: 'footprint result-footprint' })
                .bindTooltip(`#${r.rank} ${r.score.toFixed(3)} ${it.name}` + (placeText(it, true) ? '<br>' + placeText(it, true) : ''))
                .on('click', () => searchItem(it.id))
                .on('mouseover', () => tile.classList.add('hover'))
                .on('mouseout', () => tile.classList.remove('hover'))
                .addTo(state.footprints);
              layers[it.id] = poly;
              tile.addEventListener('mouseenter', () => poly.setStyle({ weight: 4 }));
              tile.addEventListener('mouseleave', () => poly.setStyle({ weight: 2 }));
            }
          }
          if (state.map && state.footprints.getLayers().length && !$('#in-view').checked) {
            state.map.fitBounds(state.footprints.getBounds(), { maxZoom: 16, padding: [20, 20] });
          }
        }

        // Relevance feedback: 👍/👎 on result cards, Refine, Find all in the map view, Export.
        function mark(item, label) {
          const current = state.labels.get(item.id);
          if (current && current.label === label) state.labels.delete(item.id);
          else state.labels.set(item.id, { label, item });
          document.querySelectorAll(`.tile[data-id="${item.id}"]`).forEach(t => paintLabel(t, item.id));
          showLabels();
        }

        function paintLabel(tile, id) {
          const l = state.labels.get(Number(id));
          tile.classList.toggle('pos', !!l && l.label > 0);
          tile.classList.toggle('neg', !!l && l.label < 0);
        }

        function showLabels() {
          const pos = [...state.labels.values()].filter(l => l.label > 0), neg = [...state.labels.values()].filter(l => l.label < 0);
          const upload = state.uploadPositive ? 1 : 0;
          $('#fb-counts').textContent = `${pos.length + upload} 👍 · ${neg.length} 👎`;
          for (const [box, list] of [['#fb-pos', pos], ['#fb-neg', neg]]) {
            const el = $(box); el.innerHTML = '';
            for (const l of list) {
              const img = document.createElement('img');
              img.src = l.item.image + '?size=96'; img.alt = l.item.name; img.title = `${l.item.name} — click to unmark`;
              img.addEventListener('click', () => mark(l.item, l.label));
              el.appendChild(img);
            }
          }
          if (state.uploadPositive) {
            const img = document.createElement('img');
            img.src = state.uploadPositive.url; img.alt = state.uploadPositive.name; img.className = 'upload-example';
            img.title = `${state.uploadPositive.name} (uploaded) — click to unmark`;
            img.addEventListener('click', () => { state.uploadPositive = null; showLabels(); });
            $('#fb-pos').prepend(img);
          }
          $('#refine').disabled = $('#find-all').disabled = pos.length + upload === 0;
          $('#save').disabled = pos.length === 0;
        }

        function base64(blob) {
          return new Promise((resolve, reject) => {
            const reader = new FileReader();
            reader.onload = () => resolve(String(reader.result).split(',')[1]);
            reader.onerror = () => reject(reader.error);
            reader.readAsDataURL(blob);
          });
        }

        async function feedbackBody() {
          const body = { positives: [], negatives: [], learner: $('#learner').value };
          for (const [id, l] of state.labels) (l.label > 0 ? body.positives : body.negatives).push(id);
          if (state.uploadPositive) body.positiveImages = [await base64(state.uploadPositive.blob)];
          return body;
        }

        async function refine() {
          document.body.dataset.state = 'searching';
          const body = await feedbackBody(), p = params();
          state.lastFeedback = { params: p, body };
          $('#export').disabled = false;
          return run(`${body.positives.length} 👍 / ${body.negatives.length} 👎`, () => fetch('/api/feedback?' + p, {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));
        }

        async function findAll() {
          document.body.dataset.state = 'searching';
          const body = await feedbackBody(), p = new URLSearchParams();
          p.set('threshold', $('#threshold').value || '0.9'); p.set('limit', '5000');
          if (state.map) p.set('bbox', state.map.getBounds().toBBoxString());
          state.lastFeedback = { params: p, body };
          $('#export').disabled = false;
          return run('find all', () => fetch('/api/feedback?' + p, {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));
        }

        async function exportGeoJSON() {
          const last = state.lastFeedback; if (!last) return;
          const p = new URLSearchParams(last.params); p.set('format', 'geojson');
          try {
            const r = await fetch('/api/export?' + p, { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                                      body: JSON.stringify(last.body) });
            if (!r.ok) throw new Error((await r.json()).error.message);
            const blob = await r.blob();
            const a = document.createElement('a');
            a.href = URL.createObjectURL(blob); a.download = 'satseek-results.geojson';
            document.body.appendChild(a); a.click(); a.remove();
            setStatus(`exported ${blob.size} bytes of GeoJSON`);
            document.body.dataset.exported = 'yes';
          } catch (e) { setStatus(e.message, true); }
        }

        async function saveCollection() {
          const name = prompt('Collection name'); if (!name) return;
          const body = await feedbackBody();
          const r = await fetch('/api/collections/' + encodeURIComponent(name), { method: 'PUT',
            headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ positives: body.positives, negatives: body.negatives }) });
          const answer = await r.json();
          setStatus(r.ok ? `saved collection ${answer.name}` : answer.error.message, !r.ok);
        }

        function initFeedback() {
          $('#refine').addEventListener('click', refine);
          $('#find-all').addEventListener('click', findAll);
          $('#export').addEventListener('click', exportGeoJSON);
          $('#save').addEventListener('click', saveCollection);
          $('#fb-clear').addEventListener('click', () => { state.labels.clear(); state.uploadPositive = null; showLabels();
            document.querySelectorAll('.tile').forEach(t => paintLabel(t, t.dataset.id)); });
        }

        function initQueryInputs() {
          document.querySelectorAll('#modes button').forEach(b => b.addEventListener('click', () => {
            document.querySelectorAll('#modes button').forEach(x => x.classList.toggle('active', x === b));
            $('#panel-image').hidden = b.dataset.mode !== 'image';
            $('#panel-sketch').hidden = b.dataset.mode !== 'sketch';
            $('#panel-text').hidden = b.dataset.mode !== 'text';
          }));
          $('#text-form').addEventListener('submit', e => {
            e.preventDefault();
            const q = $('#text-query').value.trim(); if (q) searchText(q);
          });
          const drop = $('#drop');
          drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
          drop.addEventListener('dragleave', () => drop.classList.remove('over'));
          drop.addEventListener('drop', e => {
            e.preventDefault(); drop.classList.remove('over');
            const f = e.dataTransfer.files[0]; if (f) searchImage(f, f.name);
          });
          $('#file').addEventListener('change', e => { const f = e.target.files[0]; if (f) searchImage(f, f.name); });
          $('#in-view').addEventListener('change', () => rerun());
          for (const id of ['#near', '#radius', '#from', '#to']) $(id).addEventListener('change', () => rerun());
          if (state.map) state.map.on('moveend', () => { if ($('#in-view').checked) rerun(); });
          initSketch();
          initFeedback();
        }

        function rerun() {
          const b = state.last;
          if (b && b.mode === 'item' && b.query) searchItem(b.query.id);
          else if (b && b.mode === 'image' && state.lastImage) searchImage(state.lastImage.blob, state.lastImage.name);
          else if (b && b.mode === 'feedback' && state.lastFeedback && !state.lastFeedback.params.has('threshold')) refine();
        }

        function initSketch() {
          const c = $('#sketch'), g = c.getContext('2d');
          const clear = () => { g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height); };
          clear();
          g.lineWidth = 4; g.lineCap = 'round'; g.strokeStyle = '#000';
          let down = false;
          const pos = e => { const r = c.getBoundingClientRect(); return [(e.clientX - r.left) * c.width / r.width, (e.clientY - r.top) * c.height / r.height]; };
          c.addEventListener('pointerdown', e => { down = true; const [x, y] = pos(e); g.beginPath(); g.moveTo(x, y); });
          c.addEventListener('pointermove', e => { if (!down) return; const [x, y] = pos(e); g.lineTo(x, y); g.stroke(); });
          window.addEventListener('pointerup', () => { down = false; });
          $('#sketch-clear').addEventListener('click', clear);
          $('#sketch-go').addEventListener('click', searchSketch);
        }

        // Deep links (also used by the browser tests): ?item=ID, ?image=<same-origin image URL>, ?text=… (with
        // item=ID: the item modified by the text, text_weight=W).
        async function fromURL() {
          const q = new URLSearchParams(location.search);
          if (q.get('k')) $('#k').value = q.get('k');
          for (const name of ['near', 'from', 'to']) if (q.get(name)) $('#' + name).value = q.get(name);
          if (q.get('radius_km')) $('#radius').value = q.get('radius_km');
          if (q.get('text')) {
            $('#text-query').value = q.get('text');
            if (q.get('text_weight')) $('#text-weight').value = q.get('text_weight');
            if (q.get('item')) offerComposition(q.get('item'));
            return searchText(q.get('text'));
          }
          if (q.get('item')) return searchItem(q.get('item'));
          if (q.get('image')) {
            const r = await fetch(q.get('image'));
            if (!r.ok) { setStatus('cannot load ' + q.get('image'), true); document.body.dataset.state = 'error'; return; }
            return searchImage(await r.blob(), q.get('image'));
          }
          document.body.dataset.state = 'ready';
        }

        (async () => {
          initMap();
          initQueryInputs();
          try { await loadInfo(); } catch (e) { setStatus('cannot reach the server: ' + e.message, true); }
          await fromURL();
        })();
        """#
}
