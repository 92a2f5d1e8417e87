/* borderwatch hotspot layer: hexagons coloured by Gi* class or by emerging pattern.
 * Referenced from Python as Namespace("bwHotspots", "layer")("style" | "each").
 * context.hideout = {mode: "class" | "pattern", classColors, classLabels, patternColors,
 * patternLabels}; feature properties: k (class), pt (pattern), n (incidents, or a range such
 * as "1-4"), z (Gi* z-score), t (trend: 1 rising, -1 falling); n and z are absent for the
 * roles that see incidents only as counts. */
window.bwHotspots = Object.assign({}, window.bwHotspots, {
  layer: {
    esc: function (text) {
      return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
        return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
      });
    },
    style: function (feature, context) {
      var h = (context && context.hideout) || {}, p = feature.properties;
      var byPattern = h.mode === "pattern";
      var color = byPattern ? (h.patternColors || [])[p.pt] : (h.classColors || [])[p.k];
      var strong = !byPattern && (p.k === 0 || p.k === 6);  /* 99 %: a darker outline */
      return {color: strong ? "#333333" : (color || "#999999"), weight: strong ? 1.2 : 0.6,
              opacity: 0.9, fillColor: color || "#999999", fillOpacity: 0.6};
    },
    each: function (feature, layer, context) {
      var self = window.bwHotspots.layer, p = feature.properties;
      var h = (context && context.hideout) || {};
      var trend = p.t === 1 ? ", clustering rising" : (p.t === -1 ? ", clustering falling" : "");
      var n = typeof p.n === "number" ? p.n.toLocaleString("en") : String(p.n);
      var tip = "<b>" + self.esc((h.classLabels || [])[p.k]) + "</b><br>" +
                self.esc((h.patternLabels || [])[p.pt]) + self.esc(trend);
      /* a restricted role's hexagons carry neither count nor z-score */
      if (p.n != null) {
        tip += "<br>" + self.esc(n) + (p.n === 1 ? " incident" : " incidents") + " over the period";
      }
      if (p.z != null) {
        tip += (p.n != null ? " \u00b7 " : "<br>") + "Gi* z = " + self.esc(p.z);
      }
      layer.bindTooltip(tip, {sticky: true, className: "bw-hotspot-tip"});
    }
  }
});
