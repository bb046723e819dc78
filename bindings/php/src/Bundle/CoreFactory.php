<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle;

use Incwo\Connector\Core;
use Incwo\Connector\Exception\UsageException;

/** Builds the Core service: reads the profile file, loads the library. */
final class CoreFactory
{
    public static function create(?string $profilePath, ?string $libraryPath, ?string $headerPath): Core
    {
        $profile = null;
        if ($profilePath !== null && $profilePath !== '') {
            $profile = @file_get_contents($profilePath);
            if ($profile === false) {
                throw new UsageException(['class' => 'usage', 'code' => 'usage.invalid_profile', 'message' => "cannot read the mapping profile {$profilePath}"]);
            }
        }

        return new Core($profile, $libraryPath ?: null, $headerPath ?: null);
    }
}
