// Starts Swagger UI on /api/docs. A file of its own, not an inline script: the page's CSP
// allows scripts from the app only. The schema URL is relative to <base href>, so the docs
// work wherever the app is mounted (Airflow's API server mounts it at /dataver).
"use strict";

window.addEventListener("DOMContentLoaded", () => {
  window.SwaggerUIBundle({
    url: new URL("api/openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    // No badge: it would send the schema to a validator on the internet.
    validatorUrl: null,
  });
});
