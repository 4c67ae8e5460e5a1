import ArgumentParser
import Foundation

AtRestCommand.run()
