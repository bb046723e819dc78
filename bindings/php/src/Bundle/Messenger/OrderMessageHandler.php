<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Messenger;

/** Handles {@see OrderMessage}: syncs its records (see {@see AbstractSyncHandler}). */
final class OrderMessageHandler extends AbstractSyncHandler
{
    public function __invoke(OrderMessage $message): void
    {
        $this->handle($message);
    }
}
