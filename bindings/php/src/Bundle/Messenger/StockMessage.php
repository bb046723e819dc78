<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Messenger;

/** Stock movements of a warehouse (erp.incwo.stock.{warehouse}). */
final class StockMessage extends AbstractSyncMessage
{
    public const FAMILY = 'stock';
}
