// Starts Swagger UI on /docs/api. A file of its own, not an inline script: the pages' CSP allows scripts from 'self' only.
(function () {
  var target = document.getElementById('swagger-ui');
  if (!target || typeof window.SwaggerUIBundle !== 'function') return;
  target.textContent = '';
  window.SwaggerUIBundle({
    url: target.getAttribute('data-openapi-url'),
    domNode: target,
    deepLinking: true,
    // Reading only: "Try it out" would send an admin token from the browser.
    supportedSubmitMethods: [],
    validatorUrl: null,
  });
})();
