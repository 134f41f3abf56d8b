/** The seed the integration tests run against: two tenants, so isolation can be tested. */
export const TEST_SECRETS = {
  orders: 'orders-secret-0001',
  reports: 'reports-secret-0001',
  globex: 'globex-secret-0001',
};

export function testSeed(overrides: { ordersSecret?: string } = {}) {
  return {
    tenants: {
      acme: {
        settings: { lifetimes: { serviceAccess: 1000 } },
        storefrontClients: ['storefront-web'],
        serviceClients: {
          'orders-svc': {
            secret: overrides.ordersSecret ?? TEST_SECRETS.orders,
            scopes: ['order.order_read', 'order.order_manage'],
            warmup: true,
          },
          'reports-svc': { secret: TEST_SECRETS.reports, scopes: ['order.order_read'], profile: 'oauth2' },
        },
        customers: [{ email: 'ann@example.com', password: 'correct-horse', customerNumber: 'C-1001', legalEntities: ['LE-1', 'LE-2'] }],
      },
      globex: {
        storefrontClients: ['globex-web'],
        serviceClients: {
          'globex-svc': { secret: TEST_SECRETS.globex, scopes: ['order.order_read'], profile: 'oauth2' },
        },
      },
    },
  };
}
