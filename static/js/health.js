// Sync Health: draw the totals chart from the JSON block the page carries. Without Chart.js
// (not installed, blocked) nothing happens: the table of numbers is the dashboard.
(function () {
  "use strict";
  var COLOURS = { progress: "#3b82f6", success: "#16a34a", client: "#d97706", server: "#dc2626" };

  function draw() {
    var source = document.getElementById("health-chart-data");
    var figure = document.getElementById("totals-chart");
    var canvas = document.getElementById("totals-canvas");
    if (!source || !figure || !canvas || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    figure.hidden = false;
    var chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.codes.map(String),
        datasets: [{
          label: "Syncs",
          data: data.counts,
          backgroundColor: data.families.map(function (f) { return COLOURS[f] || "#6b7280"; }),
        }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: function (items) {
                var i = items[0].dataIndex;
                return data.codes[i] + " " + data.labels[i];
              },
            },
          },
        },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        // A bar opens the history filtered to its code.
        onClick: function (event, elements) {
          if (!elements.length) return;
          var url = new URL(window.location.href);
          url.searchParams.set("status_code", data.codes[elements[0].index]);
          url.searchParams.delete("page");
          window.location.assign(url.toString());
        },
      },
    });
    canvas.dataset.drawn = "true";
    window.healthChart = chart;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
