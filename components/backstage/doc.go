// Package backstage is the Backstage component (backstage:index:Backstage): its
// Deployment, Service, Ingress or HTTPRoute, its configuration and Secrets, and the
// builders that compute each desired object from the component's args.
package backstage
