// The stepper page: restyles the one SVG at every step and draws the close-up.
(function () {
  const page = document.querySelector('.tg-stepper');
  const role = function (name) { return page.querySelector('[data-role="' + name + '"]'); };
  const data = JSON.parse(document.querySelector('script[data-role="data"]').textContent);
  const svg = role('overview').querySelector('svg');
  const zoom = window.tgZoom(role('overview'));
  const NS = 'http://www.w3.org/2000/svg';
  const total = data.steps.length;
  let k = data.start, timer = null;

  function byId(id) { return svg.querySelector('#' + CSS.escape(id)); }
  function mark(id, name, on) { const el = byId(id); if (el) el.classList.toggle(name, on); }

  function restyle() {
    const step = data.steps[k];
    svg.querySelectorAll('.current, .lit').forEach(function (el) { el.classList.remove('current', 'lit'); });
    Object.keys(data.since).forEach(function (id) { mark(id, 'pending', k < data.since[id]); });
    Object.keys(data.edgeSince).forEach(function (id) { mark(id, 'pending', k < data.edgeSince[id]); });
    const lit = {};
    step.lit.forEach(function (id) { lit[id] = true; });
    Object.keys(data.edges).forEach(function (id) {
      const edge = byId(id);
      if (!edge) return;
      let now = null;                            // [step, label, width, norm] known at step k
      data.edges[id].forEach(function (change) { if (change[0] <= k) now = change; });
      edge.classList.toggle('unsent', now === null);
      const label = edge.querySelector('text');
      if (label && now) label.textContent = now[1];
      const width = now === null ? '' : String(lit[id] ? Math.max(3, now[2]) : now[2]);
      edge.querySelectorAll('path, polygon').forEach(function (el) {
        el.style.strokeWidth = width;            // inline: over the drawing's final width
        if (el.tagName === 'path') el.style.strokeDasharray = now === null ? '' : (now[3] === 0 ? '5,2' : 'none');
      });
    });
    step.current.forEach(function (id) { mark(id, 'current', true); });
    step.lit.forEach(function (id) { mark(id, 'lit', true); });
  }

  function piece(id) {
    const g = byId(id);
    if (!g) return null;
    const box = g.getBBox(), copy = g.cloneNode(true);
    copy.removeAttribute('id');
    copy.classList.remove('pending');
    copy.classList.toggle('grad-unknown', g.classList.contains('pending'));
    copy.setAttribute('data-of', id);
    copy.querySelectorAll('[id]').forEach(function (el) { el.removeAttribute('id'); });
    return {g: copy, box: box};
  }

  function item(ids, label) {
    const parts = ids.map(piece).filter(Boolean);
    const gap = 22;
    let w = 0, h = 0;
    parts.forEach(function (p, i) { w += p.box.width + (i ? gap : 0); h = Math.max(h, p.box.height); });
    return {parts: parts, label: label, w: w, h: h, gap: gap};
  }

  function note(text) {
    const g = document.createElementNS(NS, 'text');
    g.setAttribute('class', 'note');
    g.setAttribute('y', 14);
    g.textContent = text;
    const w = 7 * text.length;
    return {parts: [{g: g, box: {x: 0, y: 0, width: w, height: 20}}], label: null, w: w, h: 20, gap: 0};
  }

  function arrow(out, x1, y1, x2, y2, label, labelAtEnd) {
    const line = document.createElementNS(NS, 'path');
    line.setAttribute('d', 'M' + x1 + ',' + y1 + ' L' + x2 + ',' + y2);
    line.setAttribute('class', 'arrow');
    line.setAttribute('marker-end', 'url(#tg-head)');
    out.appendChild(line);
    if (!label) return;
    const text = document.createElementNS(NS, 'text');
    text.setAttribute('class', 'grad');
    text.setAttribute('text-anchor', labelAtEnd ? 'end' : 'start');
    text.setAttribute('x', labelAtEnd ? x2 - 6 : x1 + 6);
    text.setAttribute('y', (labelAtEnd ? y2 : y1) - 5);
    text.textContent = label;
    out.appendChild(text);
  }

  function place(out, it, x, y) {
    it.parts.forEach(function (p, i) {
      const wrap = document.createElementNS(NS, 'g');
      wrap.setAttribute('transform', 'translate(' + (x - p.box.x) + ',' + (y + (it.h - p.box.height) / 2 - p.box.y) + ')');
      wrap.appendChild(p.g);
      out.appendChild(wrap);
      p.at = {x: x, y: y + (it.h - p.box.height) / 2};
      if (i) arrow(out, x - it.gap + 1, y + it.h / 2, x - 2, y + it.h / 2);
      x += p.box.width + it.gap;
    });
    it.x = it.parts.length ? it.parts[0].at.x : x;
    it.right = x - it.gap;
    it.mid = y + it.h / 2;
  }

  // the scale at which the close-up's smallest label is 11 px tall
  function legible(cols) {
    let smallest = 10;                                 // the arrows' labels (.focus .grad)
    cols.forEach(function (c) { c.forEach(function (it) { it.parts.forEach(function (p) {
      p.g.querySelectorAll('text').forEach(function (t) {
        const size = parseFloat(t.getAttribute('font-size'));
        if (size && t.textContent.trim()) smallest = Math.min(smallest, size);
      });
    }); }); });
    return 11 / smallest;
  }

  function widest(c) { return Math.max.apply(null, [0].concat(c.map(function (i) { return i.w; }))); }
  function tallest(c) { return Math.max.apply(null, [0].concat(c.map(function (i) { return i.h; }))); }
  function rowWidth(c) { return c.reduce(function (s, it, i) { return s + it.w + (i ? DOWN.gap : 0); }, 0); }
  const ACROSS = {pad: 10, gap: 110, row: 16}, DOWN = {pad: 10, gap: 40, rise: 72};

  // inputs in a column on the left, the node in the middle, its consumers on the right
  function acrossWidth(cols) {
    return cols.reduce(function (w, c, n) { return w + (c.length ? widest(c) + (n < 2 ? ACROSS.gap : 0) : 0); },
                       2 * ACROSS.pad) - (cols[2].length ? 0 : ACROSS.gap);
  }

  function across(out, cols) {
    const pad = ACROSS.pad, gap = ACROSS.gap, row = ACROSS.row;
    const widths = cols.map(widest);
    const heights = cols.map(function (c) {
      return c.reduce(function (s, i) { return s + i.h; }, 0) + row * Math.max(0, c.length - 1);
    });
    const H = Math.max.apply(null, heights) + 2 * pad + 10;
    let x = pad;
    cols.forEach(function (c, n) {
      let y = (H - heights[n]) / 2;
      c.forEach(function (it) {
        const left = n === 0 ? x + widths[n] - it.w : (n === 1 ? x + (widths[n] - it.w) / 2 : x);
        place(out, it, left, y);
        y += it.h + row;
      });
      if (c.length) x += widths[n] + (n < 2 ? gap : 0);
    });
    const centre = cols[1][0];
    cols[0].forEach(function (it) { arrow(out, it.right + 2, it.mid, centre.x - 2, centre.mid, it.label, false); });
    cols[2].forEach(function (it) { arrow(out, centre.right + 2, centre.mid, it.x - 2, it.mid, it.label, true); });
    return {w: x + pad - (cols[2].length ? 0 : gap), h: H};
  }

  // for a narrow window: the inputs in a row above the node, its consumers in a row below
  function downWidth(cols) { return Math.max.apply(null, cols.map(rowWidth)) + 2 * DOWN.pad; }

  function down(out, cols) {
    const W = downWidth(cols);
    let y = DOWN.pad;
    cols.forEach(function (c, n) {
      const h = tallest(c);
      let x = (W - rowWidth(c)) / 2;
      c.forEach(function (it) { place(out, it, x, y + (h - it.h) / 2); x += it.w + DOWN.gap; });
      if (c.length) y += h + (n < 2 ? DOWN.rise : 0);
    });
    const centre = cols[1][0], cx = centre.parts.length ? centre.parts[0].at.x + centre.parts[0].box.width / 2 : centre.x;
    const middle = function (it) { return it.parts[0].at.x + it.parts[0].box.width / 2; };
    cols[0].forEach(function (it) {
      downArrow(out, middle(it), it.mid + it.h / 2, cx, centre.mid - centre.h / 2 - 2, it.label, false);
    });
    cols[2].forEach(function (it) {           // the label over the item's middle: within the close-up
      downArrow(out, cx, centre.mid + centre.h / 2 + 2, middle(it), it.mid - it.h / 2 - 2, it.label, true,
                (it.x + it.right) / 2);
    });
    return {w: W, h: y + DOWN.pad};
  }

  // an arrow down from (x1, y1) to (x2, y2), its label under its start or over its end
  function downArrow(out, x1, y1, x2, y2, label, labelAtEnd, labelX) {
    const text = document.createElementNS(NS, 'text');
    text.setAttribute('class', 'grad');
    text.setAttribute('text-anchor', 'middle');
    text.setAttribute('x', labelX === undefined ? (labelAtEnd ? x2 : x1) : labelX);
    text.setAttribute('y', labelAtEnd ? y2 - 4 : y1 + 12);
    text.textContent = label || '';
    out.appendChild(text);
    arrow(out, x1, y1 + (labelAtEnd ? 2 : 16), x2, y2 - (labelAtEnd ? 16 : 0), null, false);
  }

  // when even that is too wide (a value used by many): everything one below the other, the
  // arrows running along two lines on the left (inputs into the node, the node to its consumers)
  const LIST = {pad: 10, indent: 130, row: 14, into: 16, out: 28};
  function listWidth(cols) { return 2 * LIST.pad + LIST.indent + Math.max.apply(null, cols.map(widest)); }

  function list(out, cols) {
    let y = LIST.pad;
    cols.forEach(function (c, n) {
      c.forEach(function (it) { place(out, it, LIST.pad + LIST.indent, y); y += it.h + LIST.row; });
      if (c.length && n < 2) y += LIST.row;
    });
    const centre = cols[1][0], into = LIST.pad + LIST.into, away = LIST.pad + LIST.out;
    cols[0].forEach(function (it) {
      path(out, 'M' + (it.x - 2) + ',' + it.mid + ' H' + into + ' V' + (centre.mid - 5) + ' H' + (centre.x - 2));
      listLabel(out, it);
    });
    cols[2].forEach(function (it) {
      path(out, 'M' + (centre.x - 2) + ',' + (centre.mid + 5) + ' H' + away + ' V' + it.mid + ' H' + (it.x - 2));
      listLabel(out, it);
    });
    return {w: listWidth(cols), h: y + LIST.pad - LIST.row};
  }

  function path(out, d) {
    const line = document.createElementNS(NS, 'path');
    line.setAttribute('d', d);
    line.setAttribute('class', 'arrow');
    line.setAttribute('marker-end', 'url(#tg-head)');
    out.appendChild(line);
  }

  function listLabel(out, it) {
    if (!it.label) return;
    const text = document.createElementNS(NS, 'text');
    text.setAttribute('class', 'grad');
    text.setAttribute('text-anchor', 'end');
    text.setAttribute('x', it.x - 6);
    text.setAttribute('y', it.mid - 5);
    text.textContent = it.label;
    out.appendChild(text);
  }

  // the first of across, down and list whose labels are 11 px tall in the room there is
  function chooseFocusLayout(cols, room, need) {
    const ways = [['across', acrossWidth(cols), across], ['down', downWidth(cols), down], ['list', listWidth(cols), list]];
    return ways.find(function (w) { return w[1] * need <= room; }) ||
      ways.reduce(function (a, b) { return b[1] < a[1] ? b : a; });
  }

  function focus() {
    const step = data.steps[k], f = step.focus, holder = role('focus');
    const centreItem = f.current.length ? item(f.current, null) : note(step.name + ' is not drawn in this view');
    const cols = [f.inputs.map(function (i) { return item([i.v], i.label); }),
                  [centreItem],
                  f.consumers.map(function (c) { return item(c.v, c.label); })];
    const room = holder.clientWidth - 10, need = Math.min(1.5, legible(cols));
    const way = chooseFocusLayout(cols, room, need);
    const out = document.createElementNS(NS, 'svg');
    out.innerHTML = '<defs><marker id="tg-head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" ' +
      'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>';
    const size = way[2](out, cols);
    const scale = Math.max(Math.min(1.5, room / size.w), need);     // never under 11 px: scroll instead
    out.setAttribute('viewBox', '0 0 ' + size.w + ' ' + size.h);
    out.setAttribute('width', size.w * scale);
    out.setAttribute('height', size.h * scale);
    out.setAttribute('data-layout', way[0]);
    holder.textContent = '';
    holder.appendChild(out);
  }

  // the close-up's width in drawing units (as focus() lays it out), from the groups' boxes
  function closeUpWidth(step) {
    const f = step.focus, gap = 110;
    const chain = function (ids) {
      return ids.map(byId).filter(Boolean).reduce(function (w, g, i) { return w + g.getBBox().width + (i ? 22 : 0); }, 0);
    };
    const inputs = Math.max.apply(null, [0].concat(f.inputs.map(function (i) { return chain([i.v]); })));
    const consumers = Math.max.apply(null, [0].concat(f.consumers.map(function (c) { return chain(c.v); })));
    return 20 + inputs + chain(f.current) + consumers + (inputs ? gap : 0) + (consumers ? gap : 0);
  }

  // the numbers go below the close-up when beside it they would squeeze a step's labels under 11 px
  function chooseLayout() {
    page.classList.remove('wide');
    const room = role('focus').clientWidth - 10;
    if (Math.max.apply(null, data.steps.map(closeUpWidth)) * 1.25 > room) page.classList.add('wide');
  }

  // the boxes of the current node's groups in the drawing's own units (the viewBox's: Graphviz's
  // groups sit under a translated graph group, so each box is mapped through its transform)
  function currentBoxes() {
    const root = svg.getScreenCTM().inverse();
    return data.steps[k].current.map(byId).filter(Boolean).map(function (g) {
      const b = g.getBBox(), m = root.multiply(g.getScreenCTM());
      const p = [[b.x, b.y], [b.x + b.width, b.y + b.height]].map(function (c) {
        const q = svg.createSVGPoint();
        q.x = c[0]; q.y = c[1];
        return q.matrixTransform(m);
      });
      return {x: Math.min(p[0].x, p[1].x), y: Math.min(p[0].y, p[1].y),
              width: Math.abs(p[1].x - p[0].x), height: Math.abs(p[1].y - p[0].y)};
    });
  }

  // where to look: all of the current node's groups, or the first when they do not fit in
  // the box together (a weight drawn once per time step)
  function neighbourhood() {
    const boxes = currentBoxes();
    if (!boxes.length) return null;
    const x0 = Math.min.apply(null, boxes.map(function (b) { return b.x; }));
    const y0 = Math.min.apply(null, boxes.map(function (b) { return b.y; }));
    const x1 = Math.max.apply(null, boxes.map(function (b) { return b.x + b.width; }));
    const y1 = Math.max.apply(null, boxes.map(function (b) { return b.y + b.height; }));
    const units = svg.getScreenCTM().a, room = role('overview');
    const fits = (x1 - x0) * units <= room.clientWidth - 20 && (y1 - y0) * units <= room.clientHeight - 20;
    return fits ? {x: x0, y: y0, width: x1 - x0, height: y1 - y0} : boxes[0];
  }

  // a formula wider than its column is set smaller, down to 12 px; beyond that it scrolls
  function fitFormulas() {
    role('numbers').querySelectorAll('.eq math').forEach(function (m) {
      m.style.fontSize = '';
      const room = m.closest('.eqs').clientWidth - 2, wide = m.getBoundingClientRect().width;
      if (wide > room) m.style.fontSize = Math.max(12, parseFloat(getComputedStyle(m).fontSize) * room / wide) + 'px';
    });
  }

  function fitFrame() {
    try {
      if (window.frameElement) window.frameElement.style.height = document.documentElement.scrollHeight + 'px';
    } catch (err) { /* a page opened on its own has no frame to fit */ }
  }

  function show(i) {
    k = Math.max(0, Math.min(total - 1, i));
    const step = data.steps[k];
    restyle();
    role('step-title').textContent = 'step ' + (k + 1) + ' of ' + total;
    role('step-name').textContent = step.name;
    role('slider').value = k + 1;
    role('prev').disabled = k === 0;
    role('next').disabled = k === total - 1;
    role('numbers').innerHTML = step.html;
    fitFormulas();
    focus();
    const box = neighbourhood();
    if (box && role('follow').checked) zoom.follow(box);
    fitFrame();
  }

  function play() {
    if (timer) { clearInterval(timer); timer = null; role('play').textContent = '▶ play'; return; }
    if (k === total - 1) show(0);
    role('play').textContent = '⏸ pause';
    timer = setInterval(function () { if (k === total - 1) play(); else show(k + 1); }, 1200);
  }

  role('prev').addEventListener('click', function () { show(k - 1); });
  role('next').addEventListener('click', function () { show(k + 1); });
  role('play').addEventListener('click', play);
  role('whole').addEventListener('click', function () { zoom.whole(); });
  role('slider').addEventListener('input', function () { show(parseInt(role('slider').value, 10) - 1); });
  document.addEventListener('keydown', function (evt) {
    if (evt.key === ' ' && evt.target.tagName === 'BUTTON') return;
    if (evt.target === role('slider') || evt.altKey || evt.ctrlKey || evt.metaKey) return;
    const moves = {ArrowLeft: k - 1, ArrowRight: k + 1, Home: 0, End: total - 1};
    if (evt.key in moves) { show(moves[evt.key]); evt.preventDefault(); }
    else if (evt.key === ' ') { play(); evt.preventDefault(); }
  });
  // a whole graph too small to read (its 9-point labels under 4 px) opens zoomed in to 1.4 px per
  // point on the current node and follows it; "see the whole" shows the map
  function openLegible() {
    const box = neighbourhood();
    if (box && !zoom.zoomed() && svg.getScreenCTM().a * 9 < 4) {
      zoom.centre(box.x + box.width / 2, box.y + box.height / 2, 1.4);
      zoom.follow(neighbourhood());                   // what fits at this scale
    }
  }

  window.addEventListener('resize', function () { chooseLayout(); focus(); fitFormulas(); fitFrame(); });
  chooseLayout();
  show(k);
  openLegible();
})();
