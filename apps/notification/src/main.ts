import './telemetry';
import { bootstrapService, openApiDocument } from '@kizuna/shared/service-kit';
import { notificationData } from '@kizuna/notification/data-access';
import { NotificationModule } from '@kizuna/notification/feature';

void bootstrapService({
  name: 'notification',
  defaultPort: 3005,
  data: notificationData,
  feature: NotificationModule,
  openApi: () => openApiDocument('notification.openapi.yaml'),
});
