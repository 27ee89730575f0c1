import { IsIn, IsInt, IsISO8601, IsNotEmpty, IsOptional, IsString, Min } from 'class-validator';
import { NotificationChannel } from '../enums';

export const DELIVERY_STATUSES = ['delivered', 'failed', 'dead-lettered'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export class NotificationDeliveryV1 {
  @IsString() @IsNotEmpty() deliveryId!: string;
  /** The CloudEvents id of the event that triggered the notification. */
  @IsString() @IsNotEmpty() triggerEventId!: string;
  @IsString() @IsNotEmpty() trigger!: string;
  /** Recipient reference (a CSM id or a contact id), never an address. */
  @IsString() @IsNotEmpty() recipient!: string;
  @IsIn(Object.values(NotificationChannel)) channel!: NotificationChannel;
  @IsIn(DELIVERY_STATUSES) status!: DeliveryStatus;
  @IsInt() @Min(1) attempts!: number;
  @IsOptional() @IsString() error?: string;
  @IsISO8601() at!: string;
}
