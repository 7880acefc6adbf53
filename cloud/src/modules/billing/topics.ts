// Outbox topics of the billing domain (the notification worker of a later issue turns them into SMS / push).
export const BILLING_TOPICS = {
  billIssued: 'bill.issued',
  billReminder: 'bill.reminder',
  paymentReceived: 'payment.received',
  refundRequested: 'refund.requested',
  noteIssued: 'bill.note_issued',
  followUpOpened: 'billing.follow_up_opened',
} as const;
