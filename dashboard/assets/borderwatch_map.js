/* borderwatch map functions, referenced from Python with
 * dash_extensions.javascript.Namespace("borderwatch", "map")("name").
 * dash-leaflet calls them as (feature, latlng, context) / (feature, context) /
 * (feature, layer, context); context.hideout carries the colours and the pane to use
 * (a custom pointToLayer does not inherit the layer's pane). */
window.borderwatch = Object.assign({}, window.borderwatch, {
  map: {
    esc: function (text) {
      return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
        return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
      });
    },

    /* Offline basemap: land per country, the eight administrations a shade lighter. */
    countryStyle: function (feature) {
      var target = feature.properties.t === 1;
      return {
        color: "#8a8f98", weight: target ? 1.2 : 0.8, opacity: 1,
        fillColor: target ? "#f7f4ec" : "#e4e1d8", fillOpacity: 1
      };
    },
    countryLabel: function (feature, latlng, context) {
      var p = feature.properties, h = context.hideout || {};
      return L.marker(latlng, {
        pane: h.labelPane, interactive: false, keyboard: false,
        icon: L.divIcon({
          className: "bw-country-label" + (p.t === 1 ? " is-target" : ""),
          html: "<span>" + window.borderwatch.map.esc(p.label) + "</span>",
          iconSize: null
        })
      });
    },

    /* Border sections: colour, weight and dash pattern by impact level, plus a text label
     * (permanent for medium and above, and where the analysis suggests another level, in the
     * labels pane under the markers; on hover for the rest). Hovering a
     * section shows its attribution (p.tip: level, reason, date; HTML escaped by the server)
     * in Leaflet's tooltip pane, above every marker (BCP icons used to cover it). */
    sectionStyle: function (feature, context) {
      var s = ((context.hideout || {}).levels || {})[feature.properties.lvl] || {};
      return {color: s.color || "#555", weight: s.weight || 3, dashArray: s.dashArray || null,
              opacity: 0.95, lineCap: "butt"};
    },
    sectionEach: function (feature, layer, context) {
      var bw = window.borderwatch.map;
      var p = feature.properties, h = context.hideout || {};
      var label = bw.esc(p.label), tip = p.tip || label;
      var tipClass = "bw-section-tip bw-impact-" + p.lvl;
      if (p.lvl === "low" && !p.sug) {  /* a differing suggestion shows its label too */
        layer.bindTooltip(tip, {sticky: true, direction: "top", className: tipClass});
        return;
      }
      layer.bindTooltip(label, {
        permanent: true, direction: "center", pane: h.labelPane,
        className: "bw-section-label bw-impact-" + p.lvl
      });
      var hover = L.tooltip({direction: "top", className: tipClass, offset: [0, -8]});
      hover.setContent(tip);
      layer.on("mouseover mousemove", function (e) {
        if (layer._map) { hover.setLatLng(e.latlng); layer._map.openTooltip(hover); }
      });
      layer.on("mouseout remove", function () {
        if (layer._map) { layer._map.closeTooltip(hover); }
      });
      layer.on("add", function () { bw.declutterSoon(layer._map); });
    },

    /* Permanent section labels must not overlap (at regional zoom dozens share a few
     * centimetres): keep the most severe first, hide any label that would overlap one kept.
     * Runs after every zoom or pan, and when labels are added. */
    declutterSoon: function (map) {
      if (!map) { return; }
      var bw = window.borderwatch.map;
      if (!map._bwDeclutter) {
        map._bwDeclutter = true;
        map.on("zoomend moveend", function () { bw.declutterSoon(map); });
      }
      window.clearTimeout(map._bwDeclutterTimer);
      map._bwDeclutterTimer = window.setTimeout(function () { bw.declutter(map); }, 60);
    },
    declutter: function (map) {
      var rank = {"bw-impact-critical": 0, "bw-impact-high": 1, "bw-impact-medium": 2};
      var level = function (el) {
        for (var name in rank) { if (el.classList.contains(name)) { return rank[name]; } }
        return 3;
      };
      var labels = Array.prototype.slice.call(
        map.getContainer().querySelectorAll(".leaflet-tooltip.bw-section-label"));
      labels.forEach(function (el) { el.classList.remove("is-cluttered"); });
      labels.sort(function (a, b) { return level(a) - level(b); });
      var kept = [];
      labels.forEach(function (el) {
        var r = el.getBoundingClientRect();
        var hit = kept.some(function (k) {
          return r.left < k.right + 2 && r.right + 2 > k.left && r.top < k.bottom + 2 && r.bottom + 2 > k.top;
        });
        if (hit) { el.classList.add("is-cluttered"); } else { kept.push(r); }
      });
    },

    /* BCPs: a glyph in a shape by mode; joint-control / one-stop crossings get a gold ring.
     * A click opens the crossing's page (a callback on the layer's clickData). */
    bcpIcon: function (feature, latlng, context) {
      var p = feature.properties, h = context.hideout || {};
      var compact = h.compact === true;  /* small symbols without glyph when zoomed out */
      var size = compact ? 9 : 18;
      var esc = window.borderwatch.map.esc;
      return L.marker(latlng, {
        pane: h.pane, keyboard: false, riseOnHover: true,
        icon: L.divIcon({
          className: "bw-bcp bw-shape-" + p.s + (p.j ? " bw-bcp-joint" : "") +
                     (compact ? " is-compact" : ""),
          html: '<span data-bcp="' + esc(p.code) + '">' + (compact ? "" : esc(p.g)) + "</span>",
          iconSize: [size, size], iconAnchor: [size / 2, size / 2]
        })
      });
    },

    /* Incidents placed at a BCP: their count on the BCP's upper right corner. Not
     * interactive: a click goes through to the BCP underneath. */
    bcpBadge: function (feature, latlng, context) {
      var p = feature.properties, h = context.hideout || {};
      var n = p.n, label = n >= 1000 ? (n / 1000).toFixed(n >= 10000 ? 0 : 1) + "k" : String(n);
      return L.marker(latlng, {
        pane: h.pane, interactive: false, keyboard: false,
        icon: L.divIcon({
          className: "bw-bcp-badge",
          html: '<span data-count="' + n + '" data-bcp="' + window.borderwatch.map.esc(p.bcp) +
                '">' + label + "</span>",
          iconSize: [0, 0], iconAnchor: [-6, 20]
        })
      });
    },

    /* One incident: a dot coloured by category. */
    incidentPoint: function (feature, latlng, context) {
      var h = context.hideout || {};
      var color = (h.colors || [])[feature.properties.c] || "#666";
      return L.circleMarker(latlng, {
        pane: h.pane, radius: 6, color: "#ffffff", weight: 1.5, fillColor: color,
        fillOpacity: 0.95, className: "bw-incident"
      });
    },

    /* A cluster, from supercluster (point_count) or from the server (count). */
    clusterIcon: function (feature, latlng, index, context) {
      if (context === undefined) {
        context = index;  /* called as pointToLayer(feature, latlng, context) */
      }
      var p = feature.properties, h = (context || {}).hideout || {};
      var n = p.point_count !== undefined ? p.point_count : p.count;
      var size = Math.round(26 + 8 * Math.log10(Math.max(1, n)));
      var label = n >= 10000 ? (n / 1000).toFixed(0) + "k" : String(n);
      var ring = p.c !== undefined ? (h.colors || [])[p.c] : "#33475b";
      return L.marker(latlng, {
        pane: h.pane, keyboard: false,
        icon: L.divIcon({
          className: "bw-cluster",
          html: '<div data-count="' + n + '" style="border-color:' + (ring || "#33475b") +
                '"><span>' + label + "</span></div>",
          iconSize: L.point(size, size)
        })
      });
    },

    /* Incidents new since the last refresh: a pulsing ring on top of everything. */
    newPoint: function (feature, latlng, context) {
      var h = context.hideout || {};
      return L.marker(latlng, {
        pane: h.pane, keyboard: false,
        icon: L.divIcon({className: "bw-new", html: "<span></span>", iconSize: [28, 28]})
      });
    },
    selectedPoint: function (feature, latlng, context) {
      var h = context.hideout || {};
      return L.marker(latlng, {
        pane: h.pane, interactive: false, keyboard: false,
        icon: L.divIcon({className: "bw-selected", html: "<span></span>", iconSize: [34, 34]})
      });
    },

    /* Hotspots: hexagons filled by density class. */
    hexStyle: function (feature, context) {
      var colors = (context.hideout || {}).colors || [];
      var c = colors[feature.properties.k] || "#fd8d3c";
      return {color: c, weight: 0.6, opacity: 0.9, fillColor: c, fillOpacity: 0.55};
    },

    hexEach: function (feature, layer) {
      var n = feature.properties.n;
      layer.bindTooltip(n.toLocaleString("en") + (n === 1 ? " incident" : " incidents"),
                        {sticky: true});
    },

    /* Joint patrol areas: hatched-looking dashed outline, light fill, a label point inside. */
    patrolStyle: function () {
      return {color: "#6A3D9A", weight: 1.5, dashArray: "6 4", fillColor: "#6A3D9A",
              fillOpacity: 0.12};
    },
    patrolLabel: function (feature, latlng, context) {
      var h = context.hideout || {};
      return L.marker(latlng, {
        pane: h.labelPane, interactive: false, keyboard: false,
        icon: L.divIcon({
          className: "bw-patrol-label",
          html: "<span>" + window.borderwatch.map.esc(feature.properties.label) + "</span>",
          iconSize: null
        })
      });
    }
  }
});

/* Clientside callbacks of the situation page (dash clientside namespace). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  borderwatch: {
    /* Write the view state into the address bar without a reload or a history entry. */
    writeUrl: function (query) {
      if (typeof query === "string" && query && window.location.search !== query) {
        window.history.replaceState(window.history.state, "", window.location.pathname + query);
      }
      return window.dash_clientside.no_update;
    },
    /* The legend starts folded on small screens (it covered a quarter of the map). */
    legendOpen: function () {
      var small = window.matchMedia("(max-width: 1280px), (max-height: 700px)").matches;
      return small ? false : window.dash_clientside.no_update;
    },
    /* Mark the selected incident in the feed and scroll it into view. */
    markFeed: function (selected) {
      var id = selected && selected.id !== undefined ? String(selected.id) : null;
      var mark = function () {
        document.querySelectorAll(".bw-feed-item").forEach(function (el) {
          var on = id !== null && el.getAttribute("data-incident") === id;
          el.classList.toggle("is-selected", on);
          if (on && !(selected && selected.src === "feed")) {
            el.scrollIntoView({block: "nearest"});
          }
        });
      };
      /* after React has rendered the feed, and once more after layout has settled */
      window.setTimeout(mark, 0);
      window.setTimeout(mark, 400);
      return window.dash_clientside.no_update;
    },
    /* Fly to an incident picked in the feed; zoom into a server-side cluster on click. */
    flyTo: function (selection, clusterClick, selected, zoom) {
      var trig = (window.dash_clientside.callback_context.triggered || [])[0] || {};
      var z = typeof zoom === "number" ? zoom : 6;
      if (trig.prop_id && trig.prop_id.indexOf("clusters") !== -1 && clusterClick) {
        var c = clusterClick.geometry.coordinates;
        return {center: [c[1], c[0]], zoom: Math.min(18, z + 2), transition: "flyTo"};
      }
      var f = selection && selection.features && selection.features[0];
      if (f && selected && selected.src === "feed") {
        var p = f.geometry.coordinates;
        return {center: [p[1], p[0]], zoom: Math.max(z, 11), transition: "flyTo"};
      }
      return window.dash_clientside.no_update;
    }
  }
});
