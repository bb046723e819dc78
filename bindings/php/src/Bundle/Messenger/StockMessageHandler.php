<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Messenger;

/** Handles {@see StockMessage}: syncs its records (see {@see AbstractSyncHandler}). */
final class StockMessageHandler extends AbstractSyncHandler
{
    public function __invoke(StockMessage $message): void
    {
        $this->handle($message);
    }
}
