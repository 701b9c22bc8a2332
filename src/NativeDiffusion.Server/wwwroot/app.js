// The sample page: posts to the web UI API's txt2img, polls /sdapi/v1/progress for previews, shows the result.
"use strict";

const $ = (id) => document.getElementById(id);

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("apikey").value.trim();
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.detail || (body.error && body.error.message) || JSON.stringify(body);
  } catch {
    return response.status + " " + response.statusText;
  }
}

async function loadSamplers() {
  const select = $("sampler");
  try {
    const response = await fetch("sdapi/v1/samplers", { headers: headers() });
    if (!response.ok) throw new Error(await errorText(response));
    for (const sampler of await response.json()) {
      select.add(new Option(sampler.name, sampler.name, false, sampler.name === "Euler a"));
    }
  } catch (e) {
    select.add(new Option("Euler a"));
    $("error").textContent = "Could not list the samplers: " + e.message;
  }
}

async function pollProgress(stop) {
  while (!stop.done) {
    try {
      const response = await fetch("sdapi/v1/progress", { headers: headers() });
      if (response.ok) {
        const p = await response.json();
        $("progress").value = p.progress;
        const s = p.state;
        $("progress-text").textContent = s.sampling_steps
          ? `Step ${s.sampling_step} of ${s.sampling_steps}` + (p.eta_relative > 0 ? `, about ${p.eta_relative.toFixed(1)} s left` : "")
          : "Waiting in the queue…";
        if (p.current_image) {
          $("preview").src = "data:image/png;base64," + p.current_image;
          $("preview").hidden = false;
        }
      }
    } catch {
      // A missed poll is harmless; the next one tries again.
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function generate(event) {
  event.preventDefault();
  const [width, height] = $("size").value.split("x").map(Number);
  const body = {
    prompt: $("prompt").value,
    negative_prompt: $("negative").value,
    sampler_name: $("sampler").value,
    steps: Number($("steps").value),
    width, height,
    seed: Number($("seed").value),
  };
  $("error").textContent = "";
  $("output").hidden = true;
  $("preview").hidden = true;
  $("status").hidden = false;
  $("progress").value = 0;
  $("generate").disabled = true;
  $("interrupt").hidden = false;
  const stop = { done: false };
  const polling = pollProgress(stop);
  try {
    const response = await fetch("sdapi/v1/txt2img", { method: "POST", headers: headers(), body: JSON.stringify(body) });
    if (!response.ok) throw new Error(await errorText(response));
    const result = await response.json();
    const info = JSON.parse(result.info);
    const url = "data:image/png;base64," + result.images[0];
    $("result").src = url;
    $("download").href = url;
    $("download").download = `nativediffusion-${info.seed}.png`;
    $("seed-used").textContent = `seed ${info.seed}`;
    $("output").hidden = false;
  } catch (e) {
    $("error").textContent = e.message;
  } finally {
    stop.done = true;
    await polling;
    $("status").hidden = true;
    $("generate").disabled = false;
    $("interrupt").hidden = true;
  }
}

$("form").addEventListener("submit", generate);
$("interrupt").addEventListener("click", () => fetch("sdapi/v1/interrupt", { method: "POST", headers: headers() }));
loadSamplers();
