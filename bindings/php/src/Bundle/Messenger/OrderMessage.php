<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Messenger;

/** Orders and cancellations of a company in a currency (erp.incwo.order.{company}.{currency}). */
final class OrderMessage extends AbstractSyncMessage
{
    public const FAMILY = 'order';
}
