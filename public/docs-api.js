// Starts Swagger UI on /docs/api. A file of its own, not an inline script: the pages' CSP allows scripts from 'self' only.
(function () {
  var target = document.getElementById('swagger-ui');
  if (!target || typeof window.SwaggerUIBundle !== 'function') return;
  target.textContent = '';
  // Swagger UI draws <main> elements of its own inside the page's <main>: one main landmark per page,
  // so each of its own is made a named region as it appears.
  var demote = function () {
    target.querySelectorAll('main:not([role])').forEach(function (el) {
      el.setAttribute('role', 'region');
      if (!el.hasAttribute('aria-label')) el.setAttribute('aria-label', 'Operations');
    });
  };
  new MutationObserver(demote).observe(target, { childList: true, subtree: true });
  window.SwaggerUIBundle({
    url: target.getAttribute('data-openapi-url'),
    domNode: target,
    deepLinking: true,
    // Reading only: "Try it out" would send an admin token from the browser.
    supportedSubmitMethods: [],
    validatorUrl: null,
  });
})();
