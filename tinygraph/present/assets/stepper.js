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

  function focus() {
    const step = data.steps[k], f = step.focus, holder = role('focus');
    const centreItem = f.current.length ? item(f.current, null) : note(step.name + ' is not drawn in this view');
    const cols = [f.inputs.map(function (i) { return item([i.v], i.label); }),
                  [centreItem],
                  f.consumers.map(function (c) { return item(c.v, c.label); })];
    const pad = 10, gap = 110, row = 16;
    const widths = cols.map(function (c) { return Math.max.apply(null, [0].concat(c.map(function (i) { return i.w; }))); });
    const heights = cols.map(function (c) {
      return c.reduce(function (s, i) { return s + i.h; }, 0) + row * Math.max(0, c.length - 1);
    });
    const H = Math.max.apply(null, heights) + 2 * pad + 10;
    const out = document.createElementNS(NS, 'svg');
    out.innerHTML = '<defs><marker id="tg-head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" ' +
      'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>';
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
    const W = x + pad - (cols[2].length ? 0 : gap);
    const scale = Math.min(1.5, (holder.clientWidth - 10) / W);
    out.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    out.setAttribute('width', W * scale);
    out.setAttribute('height', H * scale);
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
    const widest = Math.max.apply(null, data.steps.map(closeUpWidth));
    if (widest * 1.25 > room) page.classList.add('wide');
  }

  function neighbourhood() {
    let box = null;
    data.steps[k].current.forEach(function (id) {
      const g = byId(id);
      if (!g) return;
      const b = g.getBBox();
      box = box ? {x: Math.min(box.x, b.x), y: Math.min(box.y, b.y),
                   width: Math.max(box.x + box.width, b.x + b.width) - Math.min(box.x, b.x),
                   height: Math.max(box.y + box.height, b.y + b.height) - Math.min(box.y, b.y)} : b;
    });
    return box;
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
  window.addEventListener('resize', function () { chooseLayout(); focus(); fitFrame(); });
  chooseLayout();
  show(k);
})();
