// The page's behaviour: an input that fits the model (a drawing canvas for images, a text box
// for text, a series box for forecasters), calls to the prediction and explanation endpoints,
// probability bars or forecast values, and a heatmap laid over the input. Plain JavaScript.
"use strict";

(() => {
  const drawCanvas = document.getElementById("draw");
  const draw = drawCanvas.getContext("2d");
  const heatCanvas = document.getElementById("heatmap");
  const heat = heatCanvas.getContext("2d");
  const statusLine = document.getElementById("status");
  const predictButton = document.getElementById("predict");
  const uploadInput = document.getElementById("upload");

  // A 28-pixel MNIST digit is about 3 pixels thick; on a 280-pixel canvas that is ~20.
  const BRUSH_WIDTH = 20;
  let classes = [];
  let explainable = true; // from GET /v1/model
  let unit = "";
  let uploaded = null; // the uploaded file, sent as it is until the user draws over it
  let lastPoint = null;

  function clearCanvas() {
    draw.fillStyle = "#000";
    draw.fillRect(0, 0, drawCanvas.width, drawCanvas.height);
    uploaded = null;
  }

  // ---- drawing: pointer events cover mouse, touch and pen alike ------------------------
  function canvasPoint(event) {
    const box = drawCanvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * drawCanvas.width) / box.width,
      y: ((event.clientY - box.top) * drawCanvas.height) / box.height,
    };
  }

  function strokeTo(point) {
    draw.strokeStyle = "#fff";
    draw.fillStyle = "#fff";
    draw.lineWidth = BRUSH_WIDTH;
    draw.lineCap = "round";
    draw.lineJoin = "round";
    draw.beginPath();
    if (lastPoint) {
      draw.moveTo(lastPoint.x, lastPoint.y);
      draw.lineTo(point.x, point.y);
      draw.stroke();
    } else {
      draw.arc(point.x, point.y, BRUSH_WIDTH / 2, 0, 2 * Math.PI);
      draw.fill();
    }
    lastPoint = point;
  }

  drawCanvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    drawCanvas.setPointerCapture(event.pointerId);
    uploaded = null; // the canvas, not the file, is now the input
    lastPoint = null;
    strokeTo(canvasPoint(event));
  });
  drawCanvas.addEventListener("pointermove", (event) => {
    if (lastPoint) strokeTo(canvasPoint(event));
  });
  for (const name of ["pointerup", "pointercancel", "pointerleave"]) {
    drawCanvas.addEventListener(name, () => { lastPoint = null; });
  }

  // ---- upload: shown stretched, as the server resizes it to the model's input ----------
  uploadInput.addEventListener("change", () => {
    const file = uploadInput.files && uploadInput.files[0];
    if (!file) return;
    const url = URL.createObjectURL(file);
    const image = new Image();
    image.onload = () => {
      clearCanvas();
      draw.drawImage(image, 0, 0, drawCanvas.width, drawCanvas.height);
      URL.revokeObjectURL(url);
      uploaded = file;
      setStatus(`${file.name} loaded; press Predict.`);
    };
    image.onerror = () => setStatus(`${file.name} is not an image this browser can read.`, true);
    image.src = url;
    uploadInput.value = "";
  });

  // ---- calls to the API ----------------------------------------------------------------
  function setStatus(text, isError = false) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", isError);
  }

  function canvasBlob() {
    return new Promise((resolve) => drawCanvas.toBlob(resolve, "image/png"));
  }

  async function postImage(path, blob) {
    const form = new FormData();
    form.append("file", blob, blob.name || "input.png");
    const response = await fetch(path, { method: "POST", body: form });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = (body.error && body.error.message) || `${path} answered ${response.status}`;
      throw new Error(message);
    }
    return body;
  }

  // Probabilities may come as {label: p} or as [p0, p1, ...] in class order.
  function probabilityPairs(probabilities) {
    if (Array.isArray(probabilities)) {
      return probabilities.map((p, i) => [classes[i] !== undefined ? String(classes[i]) : String(i), p]);
    }
    return Object.entries(probabilities || {});
  }

  function showPrediction(prediction) {
    const pairs = probabilityPairs(prediction.probabilities);
    const label = prediction.label !== undefined ? prediction.label : String(prediction.class);
    const top = Math.max(...pairs.map(([, p]) => p));
    document.getElementById("prediction-label").textContent = label;
    document.getElementById("prediction-confidence").textContent =
      Number.isFinite(top) ? `${(100 * top).toFixed(1)} %` : "";
    const bars = document.getElementById("probabilities");
    bars.replaceChildren(
      ...pairs.map(([name, p]) => {
        const row = document.createElement("div");
        row.className = "bar-row" + (String(name) === String(label) ? " top" : "");
        row.dataset.label = name;
        row.dataset.probability = String(p);
        const text = document.createElement("span");
        text.className = "bar-label";
        text.textContent = name;
        text.title = name;
        const track = document.createElement("span");
        track.className = "bar-track";
        const fill = document.createElement("span");
        fill.className = "bar-fill";
        fill.style.display = "block";
        fill.style.width = `${(100 * p).toFixed(1)}%`;
        track.append(fill);
        const value = document.createElement("span");
        value.className = "bar-value";
        value.textContent = `${(100 * p).toFixed(1)}%`;
        row.append(text, track, value);
        return row;
      }),
    );
  }

  // A blue → green → yellow → red ramp: low evidence stays nearly transparent.
  function colour(v) {
    const r = Math.round(255 * Math.min(1, Math.max(0, 1.5 * v - 0.25) * 1.3));
    const g = Math.round(255 * Math.min(1, Math.max(0, 1 - Math.abs(2 * v - 1.1))));
    const b = Math.round(255 * Math.min(1, Math.max(0, 1 - 2 * v)));
    return [r, g, b, Math.round(255 * (0.15 + 0.55 * v))];
  }

  function showHeatmap(explanation) {
    const rows = explanation.heatmap;
    const height = rows.length;
    const width = height ? rows[0].length : 0;
    heat.imageSmoothingEnabled = true;
    heat.drawImage(drawCanvas, 0, 0, heatCanvas.width, heatCanvas.height);
    if (!width) return;
    const small = document.createElement("canvas");
    small.width = width;
    small.height = height;
    const pixels = small.getContext("2d").createImageData(width, height);
    rows.forEach((row, y) => row.forEach((v, x) => {
      pixels.data.set(colour(v), 4 * (y * width + x));
    }));
    small.getContext("2d").putImageData(pixels, 0, 0);
    heat.drawImage(small, 0, 0, heatCanvas.width, heatCanvas.height);
    const about = explanation.method === "gradcam" ? "Grad-CAM" : "saliency (input gradients)";
    document.getElementById("method").textContent =
      `${about} for “${explanation.target_label || explanation.label}”`;
  }

  async function predict() {
    predictButton.disabled = true;
    document.body.dataset.state = "busy";
    setStatus("Predicting…");
    try {
      const input = uploaded || (await canvasBlob());
      const calls = [postImage("v1/predict/image", input)];
      if (explainable) calls.push(postImage("v1/explain/image", input));
      const [prediction, explanation] = await Promise.allSettled(calls);
      if (prediction.status === "fulfilled") {
        showAnswer(prediction.value.predictions[0]);
      } else if (explanation && explanation.status === "fulfilled") {
        showPrediction(explanation.value); // the explanation carries the prediction too
      }
      if (explanation && explanation.status === "fulfilled") showHeatmap(explanation.value);
      const failures = [prediction, explanation].filter((r) => r && r.status === "rejected");
      if (failures.length) {
        setStatus(failures.map((r) => r.reason.message).join("; "), true);
        document.body.dataset.state = "error";
      } else {
        setStatus("");
        document.body.dataset.state = "done";
      }
    } finally {
      predictButton.disabled = false;
    }
  }

  // ---- text and series models: JSON to /v1/predict --------------------------------------
  async function postJson(path, payload) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error((body.error && body.error.message) || `${path} answered ${response.status}`);
    }
    return body;
  }

  function showForecast(prediction) {
    const values = prediction.forecast || [];
    const suffix = prediction.unit ? ` ${prediction.unit}` : "";
    document.getElementById("prediction-label").textContent =
      values.length ? `${values[0].toFixed(2)}${suffix}` : "—";
    document.getElementById("prediction-confidence").textContent =
      `next ${values.length} value${values.length === 1 ? "" : "s"}`;
    const list = document.getElementById("forecast");
    list.hidden = false;
    list.replaceChildren(...values.map((v) => {
      const item = document.createElement("li");
      item.dataset.value = String(v);
      item.textContent = `${v.toFixed(4)}${suffix}`;
      return item;
    }));
  }

  function showAnswer(prediction) {
    if (prediction.forecast !== undefined) showForecast(prediction);
    else if (prediction.probabilities !== undefined) showPrediction(prediction);
    else document.getElementById("prediction-label").textContent =
      (prediction.present || []).join(", ") || "—";
  }

  async function predictJson(payload) {
    document.body.dataset.state = "busy";
    setStatus("Predicting…");
    try {
      const body = await postJson("v1/predict", payload);
      showAnswer(body.predictions[0]);
      setStatus("");
      document.body.dataset.state = "done";
    } catch (error) {
      setStatus(error.message, true);
      document.body.dataset.state = "error";
    }
  }

  document.getElementById("predict-text").addEventListener("click", () => {
    predictJson({ texts: [document.getElementById("text").value] });
  });
  document.getElementById("predict-series").addEventListener("click", () => {
    const text = document.getElementById("series").value.trim();
    const values = text ? text.split(/[\s,;]+/).map(Number) : [];
    if (values.some((v) => !Number.isFinite(v))) {
      setStatus("the series holds something that is not a number", true);
      document.body.dataset.state = "error";
      return;
    }
    predictJson({ instances: [values] });
  });

  // Show the input that fits the model: "image", "text", or a series box (series, vector).
  function adaptTo(kind, inputShape) {
    const shown = kind === "vector" ? "series" : kind;
    for (const element of document.querySelectorAll("[data-kind]")) {
      element.hidden = element.dataset.kind !== shown;
    }
    document.getElementById("explain-panel").hidden = !explainable;
    const size = (inputShape || []).reduce((a, b) => a * b, 1);
    document.getElementById("window-size").textContent = String(size);
  }

  // ---- model information ---------------------------------------------------------------
  async function loadModelInfo() {
    const info = document.getElementById("model-info");
    try {
      const response = await fetch("v1/model");
      if (!response.ok) throw new Error(`v1/model answered ${response.status}`);
      const body = await response.json();
      const card = body.model || body.card || body;
      classes = card.classes || [];
      explainable = card.explainable !== false;
      unit = card.unit || "";
      adaptTo(card.input_kind || "image", card.input_shape);
      const parts = [`model: ${card.family || "?"}`];
      if (card.data) parts.push(`data: ${card.data}`);
      parts.push(`run: ${card.run_id || "not tracked"}`);
      const metrics = Object.entries(card.metrics || {})
        .filter(([, v]) => typeof v === "number")
        .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`);
      if (metrics.length) parts.push(metrics.join(", "));
      info.textContent = parts.join(" · ");
    } catch (error) {
      info.textContent = `model information unavailable (${error.message})`;
    }
  }

  document.getElementById("clear").addEventListener("click", () => {
    clearCanvas();
    setStatus("");
  });
  predictButton.addEventListener("click", () => {
    predict().catch((error) => setStatus(error.message, true));
  });

  clearCanvas();
  loadModelInfo();
})();
