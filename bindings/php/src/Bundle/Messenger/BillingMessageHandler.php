<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Messenger;

/** Handles {@see BillingMessage}: syncs its records (see {@see AbstractSyncHandler}). */
final class BillingMessageHandler extends AbstractSyncHandler
{
    public function __invoke(BillingMessage $message): void
    {
        $this->handle($message);
    }
}
