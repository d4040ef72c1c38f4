// The Swagger page of /openapi.json, from the vendored swagger-ui-dist: nothing from a CDN.
// "Authorize" takes the whole header value: epi-single <API key>.
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  tryItOutEnabled: true,
  persistAuthorization: false,
});
