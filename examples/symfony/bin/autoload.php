<?php

// Composer's autoloader when `composer install` was run; otherwise the
// connector package's loader (Symfony from Debian's php-symfony-* packages).
declare(strict_types=1);

if (is_file(__DIR__ . '/../vendor/autoload.php')) {
    require_once __DIR__ . '/../vendor/autoload.php';
} else {
    require_once __DIR__ . '/../../../bindings/php/autoload.php';
    spl_autoload_register(static function (string $class): void {
        if (str_starts_with($class, 'App\\')) {
            $file = __DIR__ . '/../src/' . str_replace('\\', '/', substr($class, 4)) . '.php';
            if (is_file($file)) {
                require_once $file;
            }
        }
    });
}
