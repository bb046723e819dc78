<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Messenger;

/** Handles {@see ReferentialMessage}: syncs its records (see {@see AbstractSyncHandler}). */
final class ReferentialMessageHandler extends AbstractSyncHandler
{
    public function __invoke(ReferentialMessage $message): void
    {
        $this->handle($message);
    }
}
