// The area map: the officer's jurisdiction and region outlines (from
// Herald, simplified for the zoom), and the alert's area, drawn as
// polygons or circles or picked as whole regions (which become CAP
// geocodes). Leaflet (vendored) draws; this file only keeps the area.
/* global L */

const STYLE = {
  jurisdiction: { color: "#1b4f8a", weight: 2, fill: false, dashArray: "6 4", interactive: false },
  region: { color: "#6b7785", weight: 1, fillOpacity: 0.02 },
  picked: { color: "#b3261e", weight: 2, fillColor: "#b3261e", fillOpacity: 0.25 },
  shape: { color: "#b3261e", weight: 2, fillOpacity: 0.2 },
  drawing: { color: "#b3261e", weight: 2, dashArray: "4 4" },
};

// Outlines are fetched only for views of at most this many square degrees
// (the server's limit).
const MAX_OUTLINE_BOX = 400;

export class AreaMap {
  constructor(el, { tileURL, attribution, bounds, jurisdiction, onChange, onHint }) {
    this.onChange = onChange;
    this.onHint = onHint ?? (() => {});
    this.area = { polygons: [], circles: [], geocodes: [] };
    this.mode = null;
    this.radiusKm = 5;
    this.draft = [];
    this.map = L.map(el, { zoomControl: true, attributionControl: Boolean(tileURL), keyboard: true });
    if (tileURL) L.tileLayer(tileURL, { attribution: attribution || "", maxZoom: 18 }).addTo(this.map);
    this.outlineLayer = L.geoJSON(null, {
      // className marks each region's path (region-<id>) for outside tests.
      style: (f) => ({ ...(this.isPicked(f) ? STYLE.picked : STYLE.region), className: "region-" + f.properties.id }),
      onEachFeature: (f, layer) => {
        layer.bindTooltip(f.properties.name + (f.properties.geocode_value ? "" : " (cannot be picked: no geocode)"), { sticky: true });
        layer.on("click", (e) => {
          if (this.mode !== "pick") return;
          L.DomEvent.stopPropagation(e);
          this.togglePick(f);
        });
      },
    }).addTo(this.map);
    this.shapeLayer = L.layerGroup().addTo(this.map);
    this.draftLayer = L.layerGroup().addTo(this.map);
    if (jurisdiction) L.geoJSON(jurisdiction, { style: STYLE.jurisdiction }).addTo(this.map);
    this.map.fitBounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]]);
    this.loaded = new Set();
    this.map.on("moveend", () => this.loadOutlines());
    this.map.on("click", (e) => this.click(e.latlng));
    this.map.on("dblclick", (e) => {
      if (this.mode === "polygon") {
        L.DomEvent.stopPropagation(e);
        this.finishPolygon();
      }
    });
    this.loadOutlines();
  }

  isPicked(f) {
    return this.area.geocodes.some((g) => g.name === f.properties.geocode_name && g.value === f.properties.geocode_value);
  }

  async loadOutlines() {
    const b = this.map.getBounds();
    const box = [Math.max(b.getWest(), -180), Math.max(b.getSouth(), -90), Math.min(b.getEast(), 180), Math.min(b.getNorth(), 90)];
    if ((box[2] - box[0]) * (box[3] - box[1]) > MAX_OUTLINE_BOX) {
      this.onHint("Zoom in to see and pick regions.");
      return;
    }
    const zoom = this.map.getZoom();
    const res = await fetch(`/v1/regions/outlines?bbox=${box.map((v) => v.toFixed(4)).join(",")}&zoom=${zoom}`);
    if (!res.ok) return;
    const fc = await res.json();
    this.outlineLayer.clearLayers();
    this.outlineLayer.addData(fc);
    this.onHint(fc.truncated ? "Zoom in to see every region." : "");
  }

  setMode(mode) {
    this.mode = mode;
    this.cancelDraft();
    this.map.doubleClickZoom[mode === "polygon" ? "disable" : "enable"]();
    this.map.getContainer().dataset.mode = mode ?? "";
  }

  setRadius(km) {
    this.radiusKm = km;
  }

  click(latlng) {
    if (this.mode === "polygon") {
      this.draft.push([latlng.lat, latlng.lng]);
      this.drawDraft();
    } else if (this.mode === "circle") {
      this.area.circles.push({ lat: latlng.lat, lon: latlng.lng, radiusKm: this.radiusKm });
      this.changed();
    }
  }

  drawDraft() {
    this.draftLayer.clearLayers();
    if (this.draft.length) L.polyline(this.draft, STYLE.drawing).addTo(this.draftLayer);
    this.draft.forEach((p, i) => {
      const m = L.circleMarker(p, { radius: i === 0 ? 7 : 4, color: STYLE.drawing.color }).addTo(this.draftLayer);
      if (i === 0) m.on("click", (e) => { L.DomEvent.stopPropagation(e); this.finishPolygon(); });
    });
  }

  finishPolygon() {
    const pts = this.draft.filter((p, i, a) => i === 0 || p[0] !== a[i - 1][0] || p[1] !== a[i - 1][1]);
    if (pts.length >= 3) {
      this.area.polygons.push([...pts, [...pts[0]]]);
      this.changed();
    }
    this.cancelDraft();
  }

  cancelDraft() {
    this.draft = [];
    this.draftLayer.clearLayers();
  }

  togglePick(f) {
    const { geocode_name: name, geocode_value: value, name: label } = f.properties;
    if (!value) return;
    const i = this.area.geocodes.findIndex((g) => g.name === name && g.value === value);
    if (i >= 0) this.area.geocodes.splice(i, 1);
    else this.area.geocodes.push({ name, value, label });
    this.changed();
  }

  // setShapes replaces the drawn shapes (from the coordinates box).
  setShapes({ polygons, circles }) {
    this.area.polygons = polygons;
    this.area.circles = circles;
    this.redraw();
  }

  setArea(area) {
    this.area = { polygons: area.polygons, circles: area.circles, geocodes: area.geocodes };
    this.redraw();
    const layers = this.shapeLayer.getLayers();
    if (layers.length) this.map.fitBounds(L.featureGroup(layers).getBounds().pad(0.3));
  }

  clear() {
    this.area = { polygons: [], circles: [], geocodes: [] };
    this.cancelDraft();
    this.changed();
  }

  changed() {
    this.redraw();
    this.onChange(this.area);
  }

  redraw() {
    this.shapeLayer.clearLayers();
    for (const p of this.area.polygons) L.polygon(p, STYLE.shape).addTo(this.shapeLayer);
    for (const c of this.area.circles) L.circle([c.lat, c.lon], { ...STYLE.shape, radius: c.radiusKm * 1000 }).addTo(this.shapeLayer);
    this.outlineLayer.setStyle((f) => (this.isPicked(f) ? STYLE.picked : STYLE.region));
  }

  // invalidate re-measures the map after its container was shown.
  invalidate() {
    this.map.invalidateSize();
  }
}
