<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Messenger;

/** Invoices and credit notes of a company (erp.incwo.billing.{company}). */
final class BillingMessage extends AbstractSyncMessage
{
    public const FAMILY = 'billing';
}
