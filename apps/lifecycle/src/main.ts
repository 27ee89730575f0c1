import './telemetry';
import { bootstrapService } from '@kizuna/shared/service-kit';
import { lifecycleData } from '@kizuna/lifecycle/data-access';
import { LifecycleModule } from '@kizuna/lifecycle/feature';

void bootstrapService({ name: 'lifecycle', defaultPort: 3003, data: lifecycleData, feature: LifecycleModule });
