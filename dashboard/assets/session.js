/* When a session ends (lifetime over, logged out in another tab, account disabled), the
   server answers the page's requests with 401: go to the login page, and come back here after.
   Without this, Dash would keep the last picture on screen and show nothing new. */
(function () {
  "use strict";
  if (!window.fetch || window.__bwSessionWatch) {
    return;
  }
  window.__bwSessionWatch = true;
  var original = window.fetch;
  window.fetch = function () {
    return original.apply(this, arguments).then(function (response) {
      if (response.status === 401 && response.url.indexOf("/_dash-") !== -1) {
        var here = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(here));
      }
      return response;
    });
  };
})();
