<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Messenger;

/** Handles {@see QuoteMessage}: syncs its records (see {@see AbstractSyncHandler}). */
final class QuoteMessageHandler extends AbstractSyncHandler
{
    public function __invoke(QuoteMessage $message): void
    {
        $this->handle($message);
    }
}
