// Zoom and pan for an SVG drawing in a box: the whole drawing fits the box's width; a click
// zooms in around the point clicked (to a legible 1.4 px per point), a drag moves, another
// click (or whole()) shows the whole again.
window.tgZoom = window.tgZoom || function (box) {
  const svg = box.querySelector('svg');
  const vb = svg.viewBox.baseVal;
  const whole = {x: vb.x, y: vb.y, w: vb.width, h: vb.height};
  const maxHeight = parseFloat(box.dataset.maxHeight || '560');
  let view = null, drag = null;
  svg.removeAttribute('width');
  svg.removeAttribute('height');
  svg.setAttribute('preserveAspectRatio', 'xMidYMid meet');
  // the box fits the whole drawing's shape; zoomed in, a wide and short drawing gets at least
  // 360 px of height, so that what is around the point looked at shows too
  function size(zoomed) {
    const w = box.clientWidth || 800, fitted = Math.min(maxHeight, w * whole.h / whole.w);
    return {w: w, h: Math.max(120, zoomed ? Math.max(fitted, Math.min(maxHeight, 360)) : fitted)};
  }
  function apply() {
    const s = size(!!view), v = view || whole;
    svg.style.height = s.h + 'px';
    svg.style.maxHeight = 'none';
    svg.setAttribute('viewBox', v.x + ' ' + v.y + ' ' + v.w + ' ' + v.h);
    box.classList.toggle('zoomed', !!view);
  }
  function scale() { return view ? size(true).w / view.w : null; }
  function centre(cx, cy, k) {
    const s = size(true), w = s.w / k, h = s.h / k;
    view = {x: cx - w / 2, y: cy - h / 2, w: w, h: h};
    apply();
  }
  function units(evt) {
    const p = svg.createSVGPoint();
    p.x = evt.clientX; p.y = evt.clientY;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }
  svg.addEventListener('pointerdown', function (evt) {
    drag = {x: evt.clientX, y: evt.clientY, moved: false, view: view && Object.assign({}, view)};
  });
  svg.addEventListener('pointermove', function (evt) {
    if (!drag || !view) return;
    const dx = evt.clientX - drag.x, dy = evt.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (drag.moved) {
      const k = scale();
      view = Object.assign({}, drag.view, {x: drag.view.x - dx / k, y: drag.view.y - dy / k});
      apply();
    }
  });
  svg.addEventListener('pointerup', function (evt) {
    if (drag && !drag.moved) {
      if (view) { view = null; apply(); } else { const p = units(evt); centre(p.x, p.y, 1.4); }
    }
    drag = null;
  });
  window.addEventListener('resize', apply);
  apply();
  return {
    whole: function () { view = null; apply(); },
    zoomed: function () { return !!view; },
    // keep the zoom, move so that the box (in drawing units) is in the middle
    follow: function (b) { if (view) centre(b.x + b.width / 2, b.y + b.height / 2, scale()); },
    centre: centre,
  };
};
