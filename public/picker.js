// The page picker's small enhancements (the picker works without them):
// a folded group of a large workspace loads its children when opened, and
// the count of picked pages follows the ticks. A file of its own: the CSP
// allows scripts from 'self' only.
(function () {
  var form = document.querySelector('form[action$="/pages"]');
  if (!form) return;
  var shown = form.querySelector('input[name="shown"]');
  var counter = document.querySelector('[data-picked-elsewhere]');
  var elsewhere = counter ? Number(counter.getAttribute('data-picked-elsewhere')) || 0 : 0;

  function updateCount() {
    if (!counter) return;
    var n = elsewhere + form.querySelectorAll('input[name="pages"]:checked').length;
    counter.querySelector('[data-picked-count]').textContent = String(n);
    counter.querySelector('[data-picked-noun]').textContent = n === 1 ? 'page' : 'pages';
  }

  function load(group) {
    var url = group.getAttribute('data-children-url');
    var slot = group.querySelector(':scope > .lazy-children');
    if (!url || !slot || group.getAttribute('data-loaded')) return;
    group.setAttribute('data-loaded', 'loading');
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (response) {
        if (!response.ok) throw new Error('status ' + response.status);
        return response.text();
      })
      .then(function (html) {
        var template = document.createElement('template');
        template.innerHTML = html;
        var fresh = template.content.querySelector('.lazy-children');
        if (!fresh) throw new Error('no children in the answer');
        // Boxes already on the screen (ticked elsewhere and shown here now) are counted once.
        fresh.querySelectorAll('input[name="pages"]').forEach(function (box) {
          if (document.getElementById(box.id)) box.remove();
          else if (box.checked) elsewhere = Math.max(0, elsewhere - 1);
        });
        var ids = (fresh.getAttribute('data-shown') || '').split(',').filter(Boolean);
        // Unticking a loaded box counts on the next post only if the server knows it was shown.
        if (shown && ids.length > 0) shown.value = shown.value ? shown.value + ',' + ids.join(',') : ids.join(',');
        slot.replaceWith(fresh);
        group.setAttribute('data-loaded', 'yes');
        updateCount();
      })
      .catch(function () {
        // The group's own "Show pages inside" button stays: it reloads the page with the group opened.
        group.removeAttribute('data-loaded');
      });
  }

  // toggle does not bubble: listen in the capture phase, so groups loaded later are covered too.
  document.addEventListener(
    'toggle',
    function (event) {
      var group = event.target;
      if (group instanceof HTMLDetailsElement && group.open && group.classList.contains('lazy')) load(group);
    },
    true,
  );
  form.addEventListener('change', function (event) {
    if (event.target instanceof HTMLInputElement && event.target.name === 'pages') updateCount();
  });
})();
